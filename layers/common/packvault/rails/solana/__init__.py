"""The Solana rail: quotes with a reference and memo (quote), confirm by signature (confirm), the sweep's look
on chain for due quotes and late payments (sweep)."""

from __future__ import annotations

__all__ = ["confirm", "quote", "sweep"]
