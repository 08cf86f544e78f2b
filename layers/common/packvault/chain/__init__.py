"""Solana itself: the JSON-RPC client (rpc, the only code that talks to a Solana node), reading transactions
(transactions: payments judged from balance deltas, memos) and Solana Pay transfer-request URLs (solana_pay). Used by
the Solana rail to prove payments and by fairness to anchor the public record. May import core only (it sits beside
store)."""

from __future__ import annotations

__all__ = ["rpc", "solana_pay", "transactions"]
