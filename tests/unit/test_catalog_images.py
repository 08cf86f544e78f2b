"""Catalog images (image_url on packs and items): https, or a file the storefront serves itself; every picture
the demo catalog names ships in web/images/ (no hotlinking)."""

from __future__ import annotations

import copy
import json

import pytest

from packvault.catalog.loader import CatalogError, parse_catalog
from tests.conftest import DEMO_CATALOG, ROOT

PACK = {"pack_id": "pictures", "name": "Pictures", "status": "ACTIVE", "prices": {"SOL": "0.01"}, "cards_per_pack": 1,
        "tiers": [{"tier_id": "t", "name": "T", "probability": "1", "items": [
            {"item_id": "a", "name": "A", "nft_id": "n-a", "rarity": "common", "fmv": "1", "weight": 1}]}]}


@pytest.mark.parametrize("url", ["https://cdn.example/cards/a.png", "/images/a-card.svg", "https://x.example:8443/a"])
def test_https_and_the_storefronts_own_files_are_accepted(url):
    pack = copy.deepcopy(PACK)
    pack["image_url"] = url
    pack["tiers"][0]["items"][0]["image_url"] = url
    (definition,) = parse_catalog({"schema_version": 1, "packs": [pack]})
    assert definition.image_url == url and definition.items[0].image_url == url


@pytest.mark.parametrize("url", ["http://cdn.example/a.png", "javascript:alert(1)", "data:image/svg+xml,<svg/>",
                                 "//cdn.example/a.png", "/images/../secret.svg", "/images/a.exe",
                                 "https://cdn.example/a\".png", "https://user@cdn.example/a.png", ""])
def test_anything_else_is_refused_naming_the_field(url):
    pack = copy.deepcopy(PACK)
    pack["tiers"][0]["items"][0]["image_url"] = url
    with pytest.raises(CatalogError) as refused:
        parse_catalog({"schema_version": 1, "packs": [pack]})
    assert any("image_url" in problem for problem in refused.value.problems)


def test_an_image_is_part_of_what_an_item_delivers_and_of_the_pack_definition():
    from packvault.catalog import item_definitions

    plain = parse_catalog({"schema_version": 1, "packs": [PACK]})[0]
    pictured = copy.deepcopy(PACK)
    pictured["tiers"][0]["items"][0]["image_url"] = "/images/a.svg"
    with_image = parse_catalog({"schema_version": 1, "packs": [pictured]})[0]
    assert plain.definition_hash() != with_image.definition_hash()
    documents = [item_definitions.document(list(p.items)) for p in (plain, with_image)]
    assert "image_url" not in documents[0][0] and documents[1][0]["image_url"] == "/images/a.svg"
    assert item_definitions.items_hash(documents[0]) != item_definitions.items_hash(documents[1])


def test_every_picture_the_demo_catalog_names_ships_with_the_storefront():
    catalog = json.loads(DEMO_CATALOG.read_text())
    named = [pack.get("image_url") for pack in catalog["packs"]] + [
        item.get("image_url") for pack in catalog["packs"] for tier in pack["tiers"] for item in tier["items"]]
    assert named and all(named)
    for url in named:
        assert (ROOT / "web" / url.lstrip("/")).is_file(), url
        assert (ROOT / "web" / url.lstrip("/")).stat().st_size < 2048  # small files
