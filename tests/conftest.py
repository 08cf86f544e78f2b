"""Fixtures shared by every suite. Unit tests need nothing running; integration and e2e tests get a
DynamoDB Local that this test session starts and stops itself."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from local import dynamodb, template
from packvault import products, store
from packvault.core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEMO_CATALOG = ROOT / "catalog" / "demo.json"

# The process environment the functions read; tests never touch a real AWS account.
os.environ.update({
    "STAGE": "dev",
    "TABLE_NAME": "packvault-test",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "packvault",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "JWT_SIGNING_KEY": "test-signing-key-0123456789abcdef0123456789",
    "JWT_SIGNING_KEY_PARAMETER": "",
    **dynamodb.LOCAL_CREDENTIALS,
})
products.register()  # as every function that settles does at start: the open path learns the products


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[dynamodb.DynamoDBLocal]:
    with dynamodb.DynamoDBLocal() as database:
        yield database


def create_table_from_template(endpoint: str, name: str, stream: bool = False) -> None:
    """The template's table. Its stream only when a test reads it (`stream=True`): DynamoDB Local keeps every
    stream record of every table it holds, which slows the whole session's writes when hundreds of tables have one."""
    (table,) = template.table_definitions(template.load()).values()
    if not stream:
        table = {**table, "definition": {k: v for k, v in table["definition"].items() if k != "StreamSpecification"}}
    dynamodb.create_table(dynamodb.client(endpoint), name, table)


@pytest.fixture
def local_table(dynamodb_local: dynamodb.DynamoDBLocal, request: pytest.FixtureRequest) -> Iterator[Settings]:
    """A fresh table on DynamoDB Local, built from template.yaml, with the data-access layer bound to it (and its
    stream when the test module says STREAM = True)."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    create_table_from_template(dynamodb_local.endpoint, name, getattr(request.module, "STREAM", False))
    settings = Settings.from_env({"STAGE": "dev", "TABLE_NAME": name, "DYNAMODB_ENDPOINT": dynamodb_local.endpoint})
    store.bind(settings)
    yield settings
    dynamodb.client(dynamodb_local.endpoint).delete_table(TableName=name)


@pytest.fixture(scope="session")
def solana_node():
    """A local Solana JSON-RPC endpoint over LiteSVM, for the whole test session."""
    from local.solana_rpc import LocalSolanaServer

    server = LocalSolanaServer(0).start()
    yield server
    server.shutdown()
