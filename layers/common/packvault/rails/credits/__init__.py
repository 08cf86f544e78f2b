"""The credits rail: packs opened from the platform balance in one transaction with their seed pairs (open), and
the balance, ledger and bundles views (balance)."""

from __future__ import annotations

__all__ = ["balance", "open"]
