"""Cold-start wiring shared by every function: settings validated once, data access bound once."""

from __future__ import annotations

from packvault import store
from packvault.settings import Settings, get_settings


def configure() -> Settings:
    settings = get_settings()
    store.bind(settings)
    return settings
