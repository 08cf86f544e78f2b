"""Cold-start wiring shared by every function: settings validated once, data access bound once, and the
DynamoDB client created during init (Lambda's init phase), not on the first request."""

from __future__ import annotations

from packvault import store
from packvault.core import money
from packvault.core.settings import Settings, get_settings


def configure() -> Settings:
    settings = get_settings()
    money.configure_mints(settings.token_mints)
    store.bind(settings)
    store.connection().client  # noqa: B018 - creating the botocore client is the point
    return settings
