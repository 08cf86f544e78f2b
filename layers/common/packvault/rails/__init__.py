"""The payment rails, one package each: how a payment is requested, proved and swept. solana (a quote with a
Solana Pay reference, confirm, the sweep on chain), card (Stripe Checkout, its webhook, refunds), open_payments
(Interledger grants and payments), credits (the platform balance, debited in the open transaction). Every rail ends in
sales.settle. A rail may import core, store, chain, fairness, catalog and sales, never another rail."""

from __future__ import annotations

__all__ = ["card", "credits", "open_payments", "solana"]
