"""Email out through Amazon SES (the v2 API), one client per container. Locally SES_ENDPOINT points the same
client at moto's server, which keeps what was sent for `packvault mail` to read (docs/ARCHITECTURE.md)."""

from __future__ import annotations

from typing import Any

from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.log import logger
from packvault.core.settings import ConfigurationError, Settings

_clients: dict[tuple[str, str | None], Any] = {}


def send(settings: Settings, to: str, subject: str, text: str, html: str | None = None) -> None:
    """Send one email (text, and HTML when given); MAIL_UNAVAILABLE (503) when SES refuses or cannot be reached."""
    if settings.mail_from is None:
        raise ConfigurationError("MAIL_FROM must be set to send email (the verified SES sender address)")
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        body = {"Text": {"Data": text, "Charset": "UTF-8"},
                **({"Html": {"Data": html, "Charset": "UTF-8"}} if html is not None else {})}
        _client(settings).send_email(FromEmailAddress=settings.mail_from, Destination={"ToAddresses": [to]},
                                     Content={"Simple": {"Subject": {"Data": subject, "Charset": "UTF-8"},
                                                         "Body": body}})
    except (BotoCoreError, ClientError) as exc:
        logger.warning("mail not sent", extra={"error": type(exc).__name__})
        raise PackvaultError(ErrorCode.MAIL_UNAVAILABLE) from None


def _client(settings: Settings) -> Any:
    key = (settings.aws_region, settings.ses_endpoint)
    if key not in _clients:
        import boto3
        from botocore.config import Config

        _clients[key] = boto3.client("sesv2", region_name=settings.aws_region, endpoint_url=settings.ses_endpoint,
                                     config=Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 2}))
    return _clients[key]
