"""Payment rails: how a payment is requested and how its settlement is proved, one module per rail.

Every rail ends in the same place: a `Settlement` handed to `packvault.settle`, which opens the pack in
the one open transaction (or records the payment for a refund). A rail never writes an opening itself.

    solana          quote with a Solana Pay reference -> signature -> getTransaction -> balance deltas
    stripe_checkout Checkout Session -> signed webhook (or the session, read back by the sweep)
    open_payments   incoming payment + quote + interactive grant -> finish redirect -> the seller's incoming
                    payment, read back (or by the sweep), has received the price
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SOLANA = "solana"
STRIPE = "stripe"
OPEN_PAYMENTS = "open_payments"
CREDITS = "credits"  # the platform balance: debited inside the open transaction itself (packvault.balance_open)
RAILS = (SOLANA, STRIPE, OPEN_PAYMENTS, CREDITS)


@dataclass(frozen=True)
class Settlement:
    """A proved payment for one opening.

    `payment_id` is the rail's own id for the money (a transaction signature, a Stripe PaymentIntent): the
    claim row keyed by (rail, payment_id) makes it pay for one opening only. `references` are the rail's
    ids stored on the opening; `details` what the rail found (payer, amount, time), kept with it.
    """

    rail: str
    payment_id: str
    details: dict[str, Any]
    references: dict[str, str] = field(default_factory=dict)

    @property
    def entropy(self) -> str | None:
        """What a v3 draw mixes in (FAIRNESS.md 13.1): a value about this payment that someone other than the
        operator created after the quote's commitment (`details["entropy"]`: a transaction signature, a
        PaymentIntent id, an Open Payments interaction reference). None when the rail has none to give, e.g. money
        that reached an Open Payments incoming payment outside the buyer's approved interaction."""
        return self.details.get("entropy")

    @property
    def claim_key(self) -> str:
        return f"{self.rail}#{self.payment_id}"
