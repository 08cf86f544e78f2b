"""Provable fairness: commit-reveal seeds and the unbiased sampler (primitives), the draw (draw), odds tables
(odds), proofs and their checking (proof), signed quotes (quote_signing), the hourly public record (records) and its
anchoring on Solana (anchoring), the stock history chain (stock_chain). docs/FAIRNESS.md specifies it. May import
core, store and chain."""

from __future__ import annotations

__all__ = ["anchoring", "draw", "odds", "primitives", "proof", "quote_signing", "records", "stock_chain"]
