"""A buyer's side of the API, for people at a terminal and for the demo: a local keypair file (the Solana
CLI's format: a JSON array of 64 bytes, secret seed then public key) and the sign-in exchange."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import base58
import requests
from nacl.signing import SigningKey


@dataclass(frozen=True)
class Keypair:
    signing_key: SigningKey

    @property
    def public_key(self) -> str:
        return base58.b58encode(bytes(self.signing_key.verify_key)).decode()

    def sign(self, message: bytes) -> str:
        return base58.b58encode(self.signing_key.sign(message).signature).decode()

    def to_json(self) -> str:
        return json.dumps(list(bytes(self.signing_key) + bytes(self.signing_key.verify_key)))

    @classmethod
    def generate(cls) -> Keypair:
        return cls(SigningKey.generate())

    @classmethod
    def load(cls, path: str | Path) -> Keypair:
        raw = bytes(json.loads(Path(path).read_text()))
        if len(raw) != 64:
            raise ValueError(f"{path}: a keypair file holds 64 bytes, this one {len(raw)}")
        keypair = cls(SigningKey(raw[:32]))
        if bytes(keypair.signing_key.verify_key) != raw[32:]:
            raise ValueError(f"{path}: the public key does not match the secret key")
        return keypair

    def save(self, path: str | Path) -> None:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(self.to_json())


class ApiError(RuntimeError):
    def __init__(self, status: int, body: Any) -> None:
        self.status, self.body = status, body
        super().__init__(f"HTTP {status}: {body}")


class PackvaultClient:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.session = requests.Session()

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        all_headers = {"accept": "application/json", **(headers or {})}
        if self.token:
            all_headers["authorization"] = f"Bearer {self.token}"
        response = self.session.request(method, f"{self.base_url}{path}", json=body, headers=all_headers,
                                        timeout=self.timeout)
        payload = response.json() if response.content else None
        if response.status_code >= 400:
            raise ApiError(response.status_code, payload)
        return payload

    def sign_in(self, keypair: Keypair) -> dict[str, Any]:
        challenge = self.request("POST", "/api/v1/auth/nonce", {"wallet": keypair.public_key})
        signature = keypair.sign(challenge["message"].encode("utf-8"))
        session = self.request("POST", "/api/v1/auth/verify", {"wallet": keypair.public_key,
                                                               "message": challenge["message"],
                                                               "signature": signature})
        self.token = session["token"]
        return session


class GraphqlClient:
    """POST /graphql as seed 001's frontend does; `errors` in the answer raise ApiError."""

    def __init__(self, base_url: str, timeout: float = 15.0) -> None:
        self.url = base_url.rstrip("/") + "/graphql"
        self.token: str | None = None
        self.timeout = timeout
        self.session = requests.Session()

    def run(self, query: str, **variables: Any) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.session.post(self.url, json={"query": query, "variables": variables}, headers=headers,
                                     timeout=self.timeout)
        body = response.json()
        if response.status_code >= 400 or body.get("errors"):
            raise ApiError(response.status_code, body)
        return body["data"]

    def sign_in(self, keypair: Keypair) -> dict[str, Any]:
        challenge = self.run("mutation($w: String!) { signInMessage(walletAddress: $w) { message } }",
                             w=keypair.public_key)["signInMessage"]
        signed = self.run("mutation($w: String!, $m: String!, $s: String!) { authenticateWallet(walletAddress: $w, "
                          "message: $m, signature: $s) { user { id walletAddress } token errors } }",
                          w=keypair.public_key, m=challenge["message"],
                          s=keypair.sign(challenge["message"].encode("utf-8")))["authenticateWallet"]
        if not signed["token"]:
            raise ApiError(401, signed)
        self.token = signed["token"]
        return signed
