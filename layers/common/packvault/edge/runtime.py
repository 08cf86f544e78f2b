"""Cold-start wiring shared by every function: settings validated once, data access bound once, the DynamoDB client
created during init (Lambda's init phase), not on the first request, and the products registered with the open
path (their modules load when first used)."""

from __future__ import annotations

from packvault import products, store
from packvault.core import money
from packvault.core.settings import Settings, get_settings


def configure() -> Settings:
    settings = get_settings()
    money.configure_mints(settings.token_mints)
    store.bind(settings)
    store.connection().client  # noqa: B018 - creating the botocore client is the point
    products.register()  # the open path, the rails and the views serve the products without importing them
    return settings
