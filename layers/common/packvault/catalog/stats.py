"""A pack's public pull statistics (GET /api/v1/packs/{pack_id}/stats): what its openings drew over all time and
the last 24 hours, most pulled, rarest and biggest pulls with their proofs, and the realized odds of its current
odds version against the published ones. Everything comes from sealed hours of the public record
(fairness/pull_stats.py folds them when they are sealed), so a request costs two reads, and a container answers
the same pack from memory for CACHE_SECONDS."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from functools import reduce
from typing import Any

from packvault import store
from packvault.catalog.views import existing_pack
from packvault.fairness import pull_stats

CACHE_SECONDS = 60
SOURCE = ("Sealed hours of the public record (GET /api/v1/fairness/records/{period}) and the proofs of their "
          "openings; an hour is sealed about 5 minutes after it ends.")
_CACHE: dict[str, tuple[float, dict[str, Any]]] = {}


def pack_stats(pack_id: str, now: datetime | None = None) -> dict[str, Any]:
    cached = _CACHE.get(pack_id)
    if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    pack = existing_pack(pack_id)
    since = ((now or datetime.now(UTC)) - timedelta(hours=24)).strftime("%Y-%m-%dT%H")
    total, hours = store.pack_stats_rows(pack_id, since)
    all_time = _summary(total)
    last_day = reduce(pull_stats.merge, (_summary(row) for row in hours), pull_stats.empty())
    items = {row.item_id: row for row in store.pack_items(pack_id)}
    realized = pull_stats.realized_odds(pack_id, all_time, int(pack.odds_version))
    answer = {"pack_id": pack_id, "name": pack.name, "through": total.through if total is not None else None,
              "source": SOURCE, "all_time": _window(all_time, items), "last_24_hours": _window(last_day, items),
              "realized_odds": _named(realized, items) if realized is not None else None}
    _CACHE[pack_id] = (time.monotonic(), answer)
    return answer


def _summary(row: Any) -> pull_stats.Summary:
    return json.loads(row.summary) if row is not None and row.summary else pull_stats.empty()


def _window(summary: pull_stats.Summary, items: dict[str, Any]) -> dict[str, Any]:
    most = sorted(summary["items"].items(), key=lambda pair: (-pair[1], pair[0]))[:pull_stats.TOP]
    return {"openings": summary["openings"], "ended_without_opening": _endings(summary), "draws": summary["draws"],
            "tiers": [{"tier_id": tier, "count": count} for tier, count in sorted(summary["tiers"].items())],
            "most_pulled": [{"item_id": item_id, "count": count, **_item(items, item_id)} for item_id, count in most],
            "rarest_pulls": [_pull(pull, items) for pull in summary["rarest"]],
            "biggest_pulls": [_pull(pull, items) for pull in summary["biggest"]]}


def _endings(summary: pull_stats.Summary) -> dict[str, Any]:
    """Quotes that ended without opening (FAIRNESS.md 13.11), and their share of every quote that ended."""
    ended = summary.get("ended", {})
    quotes = summary["openings"] + sum(ended.values())
    counts = {outcome: int(ended.get(outcome, 0)) for outcome in ("expired", "refund_due")}
    return {**counts, **{f"{'expiry' if outcome == 'expired' else 'refund'}_rate":
                         f"{count / quotes:.6f}" if quotes else None for outcome, count in counts.items()}}


def _pull(pull: dict[str, Any], items: dict[str, Any]) -> dict[str, Any]:
    shown = {key: value for key, value in pull.items() if key != "probability_fraction"}
    return shown | _item(items, pull["item_id"]) | {"proof": f"/api/v1/proofs/{pull['opening_id']}"}


def _item(items: dict[str, Any], item_id: str) -> dict[str, Any]:
    row = items.get(item_id)
    return {"name": row.name if row is not None else item_id, "rarity": row.rarity if row is not None else None}


def _named(realized: dict[str, Any], items: dict[str, Any]) -> dict[str, Any]:
    for tier in realized["tier_items"]:
        for entry in tier["items"]:
            entry["name"] = _item(items, entry["item_id"])["name"]
    return realized
