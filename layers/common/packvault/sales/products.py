"""The registration point for products sold through the one open path besides packs (and credit bundles, which the
ledger fulfils in the open transaction itself): a product registers how a paid opening of its kind is fulfilled, so
that the open path never imports a product. The functions that may settle such openings register them at start
(packvault.products.register)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from packvault import store
from packvault.core.settings import ConfigurationError
from packvault.core.settlement import Settlement

Fulfil = Callable[[store.OpeningRecord, Settlement, store.ProcessedEventRecord | None], dict[str, Any]]
_FULFILMENTS: dict[str, Fulfil] = {}


def register(product: str, fulfil: Fulfil) -> None:
    """`fulfil(opening, settlement, marker)` opens a paid opening of `product` in one transaction and answers its
    receipt, as settle.open_paid does for a pack."""
    _FULFILMENTS[product] = fulfil


def fulfilment(product: str) -> Fulfil:
    try:
        return _FULFILMENTS[product]
    except KeyError:
        raise ConfigurationError(f"no fulfilment is registered for product {product!r}: the function must call "
                                 "packvault.products.register() at start") from None
