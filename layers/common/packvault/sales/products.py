"""The registration point for products sold through the one open path besides packs and credit bundles (the
platform's own ledger, fulfilled in the open transaction itself): a product kind says what its reservation carries,
how a paid opening of its kind is fulfilled, what the views show of it and what a refund of its payment stops, so
that neither the open path nor a rail imports a product. Every function registers the products at start
(`packvault.products.register`, from `edge.runtime.configure`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from packvault import store
from packvault.core.settings import ConfigurationError
from packvault.core.settlement import Settlement

Fulfil = Callable[[store.OpeningRecord, Settlement, store.ProcessedEventRecord | None], dict[str, Any]]
View = Literal["quote", "receipt", "checkout"]


@dataclass(frozen=True)
class ProductKind:
    # (product id, currency, product data the edge read) -> the opening's fields (pack_id, pack_name, prices, ...);
    # raises the product's own refusals (not found, unavailable, currency not accepted)
    reserve_fields: Callable[[str, str, dict[str, Any]], dict[str, Any]]
    # (paid opening, settlement, marker) -> its receipt, opened in one transaction as settle.open_paid does a pack
    fulfil: Fulfil
    # (opening, which view) -> the fields that view shows of this product
    view_fields: Callable[[store.OpeningRecord, View], dict[str, Any]]
    # (opening, refund) once its payment was refunded in full and the opening revoked
    refunded: Callable[[store.OpeningRecord, dict[str, Any]], None] = lambda opening, refund: None


_KINDS: dict[str, ProductKind] = {}


def register(name: str, kind: ProductKind) -> None:
    _KINDS[name] = kind


def kind(name: str) -> ProductKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise ConfigurationError(f"no product {name!r} is registered: the function must call "
                                 "packvault.products.register() at start") from None


def is_registered(name: str) -> bool:
    return name in _KINDS


def view_fields(opening: store.OpeningRecord, view: View) -> dict[str, Any]:
    """What `view` shows of a registered product's opening (nothing for a pack or a credit bundle)."""
    return kind(opening.product).view_fields(opening, view) if opening.product in _KINDS else {}
