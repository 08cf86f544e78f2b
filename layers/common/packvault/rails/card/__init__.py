"""The card rail: Stripe Checkout sessions (checkout), Stripe's webhook events and refunds (settlement), and the
only code that talks to Stripe (stripe_api; needs the Stripe layer)."""

from __future__ import annotations

__all__ = ["checkout", "settlement", "stripe_api"]
