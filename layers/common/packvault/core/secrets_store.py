"""Secrets: inline from the environment (local use) or from an SSM SecureString (AWS), read once per container."""

from __future__ import annotations

from functools import cache

from pydantic import SecretStr


@cache
def from_parameter(name: str) -> str:
    from aws_lambda_powertools.utilities.parameters import get_parameter

    return get_parameter(name, decrypt=True, max_age=3600)


def secret(inline: SecretStr | None, parameter: str | None) -> str | None:
    """The inline value if set, else the named SSM parameter's, else None."""
    if inline is not None:
        return inline.get_secret_value()
    if parameter:
        return from_parameter(parameter)
    return None
