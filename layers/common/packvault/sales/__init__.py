"""The one open path every rail settles into: reserving a unit and committing the draw (reservation), opening a
paid quote in one transaction or recording it for a refund (settle), the stock a draw uses and its link on the pack's
stock chain (stock), the public record of quotes that end without opening (endings), the views of openings
(openings), the vault and buyback (vault), public proofs (proofs), and the sweep that expires quotes and hands due
openings to their rails (expiry). Names no rail and imports no product: rails register what the sweep does for them
(expiry.SettleDue), and products how their paid openings are fulfilled (products); endings registers with the store
(store.on_ending). May import core, store, chain, fairness and catalog."""

from __future__ import annotations

__all__ = ["endings", "expiry", "openings", "products", "proofs", "reservation", "settle", "stock", "vault"]
