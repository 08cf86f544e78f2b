"""Shared set-up for the benchmarks: a fresh table on DynamoDB Local, created from template.yaml."""

from __future__ import annotations

import uuid

from local import dynamodb, template
from packvault import store
from packvault.settings import Settings
from packvault_tools.client import Keypair


def fresh_settings(database: dynamodb.DynamoDBLocal, **environment: str) -> Settings:
    """A new table, and the data-access layer bound to it."""
    table = f"bench-{uuid.uuid4().hex[:8]}"
    (definition,) = template.table_definitions(template.load()).values()
    dynamodb.create_table(dynamodb.client(database.endpoint), table, definition)
    settings = Settings.from_env({"STAGE": "dev", "TABLE_NAME": table, "DYNAMODB_ENDPOINT": database.endpoint,
                                  "PLATFORM_WALLET": Keypair.generate().public_key, **environment})
    store.bind(settings)
    return settings
