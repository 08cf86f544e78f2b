"""What is on sale: catalog files and the operators' changes validated and loaded (loader), the item
definitions draws commit to (item_definitions), the public views of packs, bundles and game-credit items (views).
May import core, store, chain and fairness."""

from __future__ import annotations

__all__ = ["item_definitions", "loader", "views"]
