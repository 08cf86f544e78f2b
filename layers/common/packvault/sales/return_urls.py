"""Where a buyer's browser comes back to after paying elsewhere (Stripe's page, an Open Payments wallet): an
absolute http(s) URL on one of CHECKOUT_RETURN_ORIGINS, so no rail can be made to send a buyer to another site."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.settings import Settings

MAX_URL_LENGTH = 2048


def return_url(settings: Settings, body: dict[str, Any], field: str) -> str:
    """An absolute http(s) URL on one of CHECKOUT_RETURN_ORIGINS; 400 VALIDATION_FAILED naming the field."""
    value = body.get(field)
    if not isinstance(value, str) or not value or len(value) > MAX_URL_LENGTH:
        raise PackvaultError(ErrorCode.VALIDATION_FAILED, f"{field} is required: an absolute URL on an allowed "
                             "origin.", field=field)
    try:
        parts = urlsplit(value)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        valid = parts.scheme in {"http", "https"} and bool(parts.hostname) and not parts.username
    except ValueError:
        valid, origin = False, ""
    allowed = {o.lower() for o in settings.checkout_return_origins}
    if not valid or origin not in allowed:
        raise PackvaultError(ErrorCode.VALIDATION_FAILED, f"{field} must be on an allowed origin "
                             f"({', '.join(settings.checkout_return_origins) or 'none configured'}).", field=field)
    return value
