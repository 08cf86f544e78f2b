"""Pull statistics from the public record (FAIRNESS.md section 11): what each sealed hour's openings drew, folded
per pack into counts anyone can recompute from the published proofs, and the realized odds set against the
published ones with a goodness-of-fit test.

Each record leaf carries its opening's draws (`leaf_draws`); sealing an hour folds them (`fold_hour`) into one
additive summary per pack, merged into the pack's all-time summary (`merge`). Nothing here runs on the open path.
Pure apart from reading immutable odds versions (store, cached per container). Statistics are floats: they are
not money.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from packvault import store
from packvault.core import money
from packvault.fairness.draw import DrawnItem
from packvault.fairness.odds import fraction_to_decimal

TOP = 10  # rarest and biggest pulls kept
DRIFT_P_VALUE = 0.001  # below this (with a valid sample) a pack's realized tier odds raise the OddsDrift alarm
MIN_EXPECTED = 5  # Pearson's chi-square is trusted only when every cell expects at least this many draws
_Z95 = 1.959963984540054

Summary = dict[str, Any]


def leaf_draws(odds_version: int, drawn: Iterable[DrawnItem], revealed: Iterable[Mapping[str, Any]]) -> str:
    """What a record leaf row keeps of its opening's draws (compact JSON): the odds version and, per draw, its slot,
    tier, item, whether it was drawn at the published odds (tiers, items) and the delivered fair value."""
    rows = [[d.slot, d.tier_id, d.item_id, int(d.tiers_at_published_odds) + 2 * int(d.items_at_published_odds),
             str(item["fmv"])] for d, item in zip(drawn, revealed, strict=True)]
    return json.dumps({"v": odds_version, "d": rows}, separators=(",", ":"))


def empty() -> Summary:
    return {"openings": 0, "draws": 0, "tiers": {}, "items": {}, "odds": {}, "rarest": [], "biggest": []}


def fold_hour(leaves: Iterable[Any]) -> dict[str, Summary]:
    """One sealed hour's summary per pack, from its leaf rows (leaves written before draws were kept count as
    openings only)."""
    summaries: dict[str, Summary] = {}
    for row in leaves:
        if not row.pack_id:
            continue
        summary = summaries.setdefault(row.pack_id, empty())
        if row.ended:  # a quote that ended without opening (FAIRNESS.md 13.11): counted, nothing drawn
            _count(summary.setdefault("ended", {}), row.ended)
            continue
        summary["openings"] += 1
        if row.draws:
            _add_opening(summary, row.pack_id, row.opening_id, row.sk.partition("#")[0], json.loads(row.draws))
    for summary in summaries.values():
        _trim(summary)
    return summaries


def _add_opening(summary: Summary, pack_id: str, opening_id: str, opened_at: str, kept: dict[str, Any]) -> None:
    version = str(kept["v"])
    table = _published(pack_id, int(kept["v"]))
    odds = summary["odds"].setdefault(version, {"slots": {}, "tiers": {}})
    for slot, tier_id, item_id, flags, fmv in kept["d"]:
        summary["draws"] += 1
        _count(summary["tiers"], tier_id)
        _count(summary["items"], item_id)
        if flags & 1:
            slot_counts = odds["slots"].setdefault(str(slot), {"n": 0, "tiers": {}})
            slot_counts["n"] += 1
            _count(slot_counts["tiers"], tier_id)
        if flags & 2:
            tier_counts = odds["tiers"].setdefault(tier_id, {"n": 0, "items": {}})
            tier_counts["n"] += 1
            _count(tier_counts["items"], item_id)
        pull = {"opening_id": opening_id, "opened_at": opened_at, "item_id": item_id, "tier_id": tier_id,
                "odds_version": int(version), "fmv": fmv}
        if table is not None and (probability := table.item_probability(int(slot), tier_id, item_id)) is not None:
            summary["rarest"].append(pull | {"probability": fraction_to_decimal(probability),
                                             "probability_fraction": f"{probability.numerator}/"
                                                                     f"{probability.denominator}"})
        summary["biggest"].append(pull)


def _count(counts: dict[str, int], key: str, by: int = 1) -> None:
    counts[key] = counts.get(key, 0) + by


def merge(into: Summary, other: Summary) -> Summary:
    """`into` plus `other` (both unchanged): counts add up, the rarest and biggest pulls are the top of both."""
    merged = _add(into, other)
    merged["rarest"] = list(into.get("rarest", [])) + list(other.get("rarest", []))
    merged["biggest"] = list(into.get("biggest", [])) + list(other.get("biggest", []))
    return _trim(merged)


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        return {key: _add(a[key], b[key]) if key in a and key in b else (a[key] if key in a else b[key])
                for key in {**a, **b} if key not in ("rarest", "biggest")}
    return a + b


def _trim(summary: Summary) -> Summary:
    summary["rarest"] = sorted(summary["rarest"], key=lambda p: (Fraction(p["probability_fraction"]),
                                                                 p["opened_at"], p["opening_id"]))[:TOP]
    summary["biggest"] = sorted(summary["biggest"], key=lambda p: (-_fmv_micros(p["fmv"]), p["opened_at"],
                                                                   p["opening_id"]))[:TOP]
    return summary


def _fmv_micros(fmv: str) -> int:
    return money.to_base_units(fmv, money.FMV_DECIMALS)


class PublishedOdds:
    """An odds version's published (full-stock) probabilities: a slot's tiers, a tier's items."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.slots = [{tier: Fraction(int(ppm), sum(int(p) for _, p in slot["tiers"] if int(p) > 0))
                       for tier, ppm in slot["tiers"] if int(ppm) > 0} for slot in document["slots"]]
        weights: dict[str, dict[str, int]] = {}
        for item in document["items"]:
            if int(item["weight"]) > 0:
                weights.setdefault(item["tier_id"], {})[item["item_id"]] = int(item["weight"])
        self.tiers = {tier: {item: Fraction(w, sum(items.values())) for item, w in items.items()}
                      for tier, items in weights.items()}

    def item_probability(self, slot: int, tier_id: str, item_id: str) -> Fraction | None:
        if slot >= len(self.slots) or tier_id not in self.slots[slot] or item_id not in self.tiers.get(tier_id, {}):
            return None
        return self.slots[slot][tier_id] * self.tiers[tier_id][item_id]


_PUBLISHED: dict[tuple[str, int], PublishedOdds | None] = {}


def _published(pack_id: str, version: int) -> PublishedOdds | None:
    """Odds versions are immutable: read once per container."""
    key = (pack_id, version)
    if key not in _PUBLISHED:
        document = store.odds_table(pack_id, version)
        _PUBLISHED[key] = PublishedOdds(document) if document is not None else None
    return _PUBLISHED[key]


def realized_odds(pack_id: str, summary: Summary, odds_version: int) -> dict[str, Any] | None:
    """The draws of `odds_version` made at the published odds, per slot and tier, against the published
    probabilities: counts, shares with 95% Wilson intervals, a per-tier test and Pearson's chi-square per slot and
    combined (FAIRNESS.md 11 says how to read them). None: that version is not published."""
    published = _published(pack_id, odds_version)
    if published is None:
        return None
    counted = summary.get("odds", {}).get(str(odds_version), {"slots": {}, "tiers": {}})
    slots, statistic, freedom, valid = [], 0.0, 0, True
    for index, tiers in enumerate(published.slots):
        observed = counted["slots"].get(str(index), {"n": 0, "tiers": {}})
        slot = _slot_fit(index, tiers, observed)
        slots.append(slot)
        statistic += slot["chi_square"]["statistic"]
        freedom += slot["chi_square"]["degrees_of_freedom"]
        valid = valid and slot["chi_square"]["valid"]
    p_value = chi_square_sf(statistic, freedom) if freedom else 1.0
    sample = sum(slot["draws"] for slot in slots)
    combined = {"statistic": round(statistic, 6), "degrees_of_freedom": freedom, "p_value": _p(p_value),
                "sample_size": sample, "valid": valid and sample > 0}
    return {"odds_version": odds_version, "slots": slots, "chi_square": combined,
            "tier_items": [_items_fit(tier, items, counted["tiers"].get(tier, {"n": 0, "items": {}}))
                           for tier, items in published.tiers.items()],
            "drift": combined["valid"] and p_value < DRIFT_P_VALUE, "drift_threshold_p_value": str(DRIFT_P_VALUE)}


def _slot_fit(index: int, tiers: Mapping[str, Fraction], observed: Mapping[str, Any]) -> dict[str, Any]:
    n = int(observed["n"])
    rows, statistic = [], 0.0
    for tier_id, probability in tiers.items():
        count = int(observed["tiers"].get(tier_id, 0))
        expected = n * float(probability)
        statistic += (count - expected) ** 2 / expected if expected else 0.0
        rows.append({"tier_id": tier_id, "published": fraction_to_decimal(probability), "observed": count,
                     **_share(count, n), "expected": round(expected, 3), "p_value": _p(binary_p_value(count, n,
                                                                                           float(probability)))})
    freedom = max(len(tiers) - 1, 0)
    valid = n > 0 and all(n * float(p) >= MIN_EXPECTED for p in tiers.values())
    return {"slot": index, "draws": n, "tiers": rows,
            "chi_square": {"statistic": round(statistic, 6), "degrees_of_freedom": freedom,
                           "p_value": _p(chi_square_sf(statistic, freedom) if freedom and n else 1.0),
                           "valid": valid}}


def _items_fit(tier_id: str, items: Mapping[str, Fraction], observed: Mapping[str, Any]) -> dict[str, Any]:
    n = int(observed["n"])
    return {"tier_id": tier_id, "draws": n,
            "items": [{"item_id": item_id, "published_in_tier": fraction_to_decimal(probability),
                       "observed": int(observed["items"].get(item_id, 0)),
                       **_share(int(observed["items"].get(item_id, 0)), n)}
                      for item_id, probability in items.items()]}


def _share(count: int, n: int) -> dict[str, Any]:
    if not n:
        return {"observed_share": None, "interval_95": None}
    low, high = wilson_interval(count, n)
    return {"observed_share": f"{count / n:.6f}", "interval_95": [f"{low:.6f}", f"{high:.6f}"]}


def _p(value: float) -> float:
    return float(f"{min(max(value, 0.0), 1.0):.6g}")


def wilson_interval(count: int, n: int, z: float = _Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default)."""
    share = count / n
    denominator = 1 + z * z / n
    centre = (share + z * z / (2 * n)) / denominator
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def binary_p_value(count: int, n: int, probability: float) -> float:
    """Two-sided: this tier against all the others (Pearson's chi-square with one degree of freedom)."""
    if not n or probability in (0.0, 1.0):
        return 1.0
    expected = n * probability
    statistic = (count - expected) ** 2 / expected + (count - expected) ** 2 / (n - expected)
    return chi_square_sf(statistic, 1)


def chi_square_sf(statistic: float, freedom: int) -> float:
    """P(X >= statistic) for X chi-square with `freedom` degrees of freedom: the regularized upper incomplete
    gamma function Q(freedom/2, statistic/2), by its series below a+1 and its continued fraction above."""
    a, x = freedom / 2, statistic / 2
    if x <= 0:
        return 1.0
    scale = math.exp(-x + a * math.log(x) - math.lgamma(a))
    if x < a + 1:
        term = total = 1 / a
        k = a
        while abs(term) > abs(total) * 1e-15:
            k += 1
            term *= x / k
            total += term
        return max(0.0, 1.0 - total * scale)
    tiny = 1e-300
    b = x + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return min(1.0, h * scale)
