"""An OpenAPI 3.0 description of the HTTP API as README.md documents it, kept for the fuzzing suite until the
project generates its own document (the operator-API issue). Shapes are what a client may send; responses are
left open: the fuzz checks assert no 5xx and the error shape, not the schemas of successful answers."""

from __future__ import annotations

from typing import Any

PACK_ID = {"name": "pack_id", "in": "path", "required": True,
           "schema": {"type": "string", "maxLength": 80, "example": "starter-unlimited"}}
OPENING_ID = {"name": "opening_id", "in": "path", "required": True,
              "schema": {"type": "string", "pattern": "^[0-9a-f-]{36}$",
                         "example": "3f1c9a52-3a8e-4d55-9d0e-8f0b7c1e2a11"}}
VAULT_ITEM_ID = {"name": "vault_item_id", "in": "path", "required": True,
                 "schema": {"type": "string", "example": "6f1c6a52-3a8e-4d55-9d0e-8f0b7c1e2a11"}}
BUNDLE_ID = {"name": "bundle_id", "in": "path", "required": True,
             "schema": {"type": "string", "maxLength": 80, "example": "credits-500"}}
PAGING = [{"name": "limit", "in": "query", "schema": {"type": "string"}},
          {"name": "cursor", "in": "query", "schema": {"type": "string"}}]
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 200}}
ANY = {"default": {"description": "any answer; checked by the fuzz suite"}}
BEARER = [{"bearer": []}]


def _json(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "properties": properties, "required": required or []}}}}


def _op(method_doc: dict[str, Any], secure: bool) -> dict[str, Any]:
    return {**method_doc, "responses": ANY, "security": BEARER if secure else []}


DESCRIPTION: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Packvault (fuzzing description)", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "paths": {
        "/api/v1/packs": {"get": _op({}, False)},
        "/api/v1/packs/{pack_id}": {"get": _op({"parameters": [PACK_ID]}, False)},
        "/api/v1/packs/{pack_id}/odds/{version}": {"get": _op({"parameters": [
            PACK_ID, {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}}]}, False)},
        "/api/v1/auth/nonce": {"post": _op({"requestBody": _json({"wallet": {"type": "string"}}, ["wallet"])},
                                           False)},
        "/api/v1/auth/verify": {"post": _op({"requestBody": _json({
            "wallet": {"type": "string"}, "message": {"type": "string"}, "signature": {"type": "string"}},
            ["wallet", "message", "signature"])}, False)},
        "/api/v1/webhooks/stripe": {"post": _op({
            "parameters": [{"name": "Stripe-Signature", "in": "header", "schema": {"type": "string"}}],
            "requestBody": _json({"id": {"type": "string"}, "object": {"type": "string"},
                                  "type": {"type": "string"}, "data": {"type": "object"}})}, False)},
        "/api/v1/packs/{pack_id}/purchase": {"post": _op({"parameters": [PACK_ID, IDEMPOTENCY], "requestBody": _json({
            "currency": {"type": "string"}, "client_seed": {"type": "string"},
            "payment": {"type": "string"}})}, True)},
        "/api/v1/packs/{pack_id}/checkout": {"post": _op({"parameters": [PACK_ID, IDEMPOTENCY], "requestBody": _json({
            "success_url": {"type": "string"}, "cancel_url": {"type": "string"},
            "client_seed": {"type": "string"}}, ["success_url", "cancel_url"])}, True)},
        "/api/v1/packs/openings/{opening_id}/confirm-payment": {"post": _op({
            "parameters": [OPENING_ID], "requestBody": _json({
                "tx_signature": {"type": "string"}, "tx_hash": {"type": "string"}, "chain": {"type": "string"},
                "client_seed": {"type": "string"}})}, True)},
        "/api/v1/packs/openings/{opening_id}": {"get": _op({"parameters": [OPENING_ID]}, True)},
        "/api/v1/me/openings": {"get": _op({"parameters": PAGING}, True)},
        "/api/v1/me/vault": {"get": _op({"parameters": PAGING}, True)},
        "/api/v1/me/credits": {"get": _op({"parameters": PAGING}, True)},
        "/api/v1/me/seeds": {"get": _op({}, True)},
        "/api/v1/credits/bundles": {"get": _op({}, False)},
        "/api/v1/proofs/{opening_id}": {"get": _op({"parameters": [OPENING_ID]}, False)},
        "/api/v1/credits/bundles/{bundle_id}/purchase": {"post": _op({
            "parameters": [BUNDLE_ID, IDEMPOTENCY], "requestBody": _json({"currency": {"type": "string"}})}, True)},
        "/api/v1/me/seeds/rotate": {"post": _op({"requestBody": _json({"client_seed": {"type": "string"}})}, True)},
        "/api/v1/me/openings/{opening_id}/items/{vault_item_id}/buyback": {
            "get": _op({"parameters": [OPENING_ID, VAULT_ITEM_ID]}, True),
            "post": _op({"parameters": [OPENING_ID, VAULT_ITEM_ID]}, True)},
    },
}
