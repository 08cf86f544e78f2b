"""The error catalogue: every failure a client can see has a stable code, an HTTP status and a message.

Handlers never build error responses themselves: they raise PackvaultError and the HTTP adapter maps it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    BAD_REQUEST = "BAD_REQUEST"
    INVALID_JSON = "INVALID_JSON"
    VALIDATION_FAILED = "VALIDATION_FAILED"
    ROUTE_NOT_FOUND = "ROUTE_NOT_FOUND"
    PACK_NOT_FOUND = "PACK_NOT_FOUND"
    INVALID_PACK_ID = "INVALID_PACK_ID"
    ODDS_VERSION_NOT_FOUND = "ODDS_VERSION_NOT_FOUND"
    INTERNAL_ERROR = "INTERNAL_ERROR"


_CATALOGUE: dict[ErrorCode, tuple[int, str]] = {
    ErrorCode.BAD_REQUEST: (400, "The request is not valid."),
    ErrorCode.INVALID_JSON: (400, "The request body is not valid JSON."),
    ErrorCode.VALIDATION_FAILED: (400, "A field of the request is not valid."),
    ErrorCode.ROUTE_NOT_FOUND: (404, "No such route."),
    ErrorCode.PACK_NOT_FOUND: (404, "No pack has this id."),
    ErrorCode.INVALID_PACK_ID: (400, "A pack id is 1-64 characters of letters, digits, '-' and '_'."),
    ErrorCode.ODDS_VERSION_NOT_FOUND: (404, "This pack has no odds version with that number."),
    ErrorCode.INTERNAL_ERROR: (500, "Something went wrong on our side; it has been logged."),
}


def http_status(code: ErrorCode) -> int:
    return _CATALOGUE[code][0]


def default_message(code: ErrorCode) -> str:
    return _CATALOGUE[code][1]


def catalogue() -> dict[ErrorCode, tuple[int, str]]:
    """The whole catalogue, for docs and tests."""
    return dict(_CATALOGUE)


class PackvaultError(Exception):
    """A domain failure with a stable code. `details` must be JSON-safe (strings, ints, lists, dicts)."""

    def __init__(self, code: ErrorCode, message: str | None = None, **details: Any) -> None:
        self.code = code
        self.message = message or default_message(code)
        self.details = details
        super().__init__(f"{code}: {self.message}")

    @property
    def status(self) -> int:
        return http_status(self.code)

    def to_body(self, request_id: str | None = None) -> dict[str, Any]:
        error: dict[str, Any] = {"code": str(self.code), "message": self.message}
        if self.details:
            error["details"] = self.details
        if request_id:
            error["request_id"] = request_id
        return {"error": error}
