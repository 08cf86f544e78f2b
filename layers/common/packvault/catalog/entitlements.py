"""Entitlement products (seed 004's meal packs) in the catalog: read from a catalog file's `entitlements` or from an
operator's request (the same JSON Schema and money rules as packs), written with a typed event saying what changed
(PACK_CREATED, PACK_UPDATED with the changed fields, PACK_ACTIVATED, PACK_DEACTIVATED), and the public view of
what is on sale."""

from __future__ import annotations

from typing import Any

from packvault import store
from packvault.catalog.loader import CatalogError, LoadResult, _duplicates, _parse_prices, schema
from packvault.core.errors import ErrorCode, PackvaultError
from packvault.fairness.primitives import canonical_hash

FIELDS = ("name", "description", "units_included", "unit_label", "status", "validity_days", "prices")


def parse_entitlements(document: Any) -> list[dict[str, Any]]:
    """The document's entitlement definitions, prices in canonical decimals (the document as a whole is validated
    against the catalog schema by parse_catalog; a definition on its own by `check_definition`)."""
    problems: list[str] = []
    found = [_normalised(raw, f"entitlements[{raw['entitlement_id']}]", problems)
             for raw in (document.get("entitlements") or [])]
    problems += _duplicates((d["entitlement_id"] for d in found), "entitlements", "entitlement_id")
    if problems:
        raise CatalogError(problems)
    return found


def check_definition(raw: Any) -> dict[str, Any]:
    """One definition from an operator: the catalog schema's `entitlement`, else CATALOG_INVALID with problems."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator({**schema()["$defs"]["entitlement"], "$defs": schema()["$defs"]})
    problems = sorted(f"{'.'.join(map(str, e.absolute_path)) or '(definition)'}: {e.message}"
                      for e in validator.iter_errors(raw))
    if not problems:
        definition = _normalised(raw, "entitlement", problems)
    if problems:
        raise PackvaultError(ErrorCode.CATALOG_INVALID, problems=problems)
    return definition


def _normalised(raw: dict[str, Any], where: str, problems: list[str]) -> dict[str, Any]:
    return {"entitlement_id": raw["entitlement_id"], "name": raw["name"], "description": raw.get("description"),
            "units_included": raw["units_included"], "unit_label": raw["unit_label"], "status": raw["status"],
            "validity_days": raw.get("validity_days"),
            "prices": _parse_prices(raw["prices"], f"{where}.prices", problems)}


def definition_hash(definition: dict[str, Any]) -> str:
    return canonical_hash({name: definition.get(name) for name in ("entitlement_id", *FIELDS)})


def load_entitlements(definitions: list[dict[str, Any]]) -> list[LoadResult]:
    return [LoadResult(d["entitlement_id"], put_definition(d), 0) for d in definitions]


def put_definition(definition: dict[str, Any]) -> str:
    """Write one product unless unchanged; its typed event says what happened. created | updated | unchanged."""
    existing = store.get_entitlement(definition["entitlement_id"])
    digest = definition_hash(definition)
    if existing is not None and existing.definition_hash == digest:
        return "unchanged"
    before = definition_of(existing) if existing is not None else None
    record = store.EntitlementProductRecord(
        pk=store.entitlement_pk(definition["entitlement_id"]), sk="PRODUCT", gsi1sk=definition["entitlement_id"],
        entitlement_id=definition["entitlement_id"], name=definition["name"], description=definition["description"],
        units_included=definition["units_included"], unit_label=definition["unit_label"],
        prices=definition["prices"], status=definition["status"], validity_days=definition["validity_days"],
        definition_hash=digest, updated_at=store.utc_now_iso())
    if before is None:
        store.put_entitlement(record, "PACK_CREATED", {"definition": definition, "definition_hash": digest})
        return "created"
    changed = sorted(name for name in FIELDS if before.get(name) != definition.get(name))
    event = ("PACK_ACTIVATED" if changed == ["status"] and definition["status"] == "ACTIVE" else
             "PACK_DEACTIVATED" if changed == ["status"] else "PACK_UPDATED")
    store.put_entitlement(record, event, {"changed": {name: {"from": before.get(name), "to": definition.get(name)}
                                                      for name in changed}, "definition_hash": digest})
    return "updated"


def definition_of(record: store.EntitlementProductRecord) -> dict[str, Any]:
    return {"entitlement_id": record.entitlement_id, "name": record.name, "description": record.description,
            "units_included": int(record.units_included), "unit_label": record.unit_label, "status": record.status,
            "validity_days": int(record.validity_days) if record.validity_days is not None else None,
            "prices": record.prices.as_dict()}


def product_view(record: store.EntitlementProductRecord) -> dict[str, Any]:
    from packvault.catalog.views import price_view

    definition = definition_of(record)
    prices = [price_view(currency, amount, None) for currency, amount in sorted(definition.pop("prices").items())]
    return {**definition, "prices": prices, "definition_hash": record.definition_hash}


def list_on_sale() -> dict[str, Any]:
    return {"entitlements": [product_view(r) for r in store.list_entitlements() if r.status == "ACTIVE"]}
