"""Fixtures the integration modules share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local import stripe_double


@pytest.fixture(scope="module")
def double(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The local Stripe double for a module, with the module's SECRET_KEY as its account's key."""
    server = stripe_double.StripeDouble(0, request.module.SECRET_KEY).start()
    yield server
    server.shutdown()
