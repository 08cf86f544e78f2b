"""Sign-in nonces: issued once, consumed once by one conditional write."""

from __future__ import annotations

from pynamodb.attributes import (
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import UpdateError

from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.times import parse_iso
from packvault.store.table import (
    Row,
    TableMeta,
    is_condition_failure,
    register,
)


class NonceRecord(Row):
    class Meta(TableMeta):
        pass

    wallet = UnicodeAttribute()
    message = UnicodeAttribute()
    issued_at = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    consumed_at = UnicodeAttribute(null=True)
    ttl = NumberAttribute()  # clean-up only; validity is decided from expires_at


NONCE_SORT_KEY = "NONCE"


NONCE_CLEANUP_SECONDS = 86400


def put_nonce(nonce: str, wallet: str, message: str, issued_at: str, expires_at: str) -> None:
    expires = parse_iso(expires_at)
    NonceRecord(pk=f"NONCE#{nonce}", sk=NONCE_SORT_KEY, wallet=wallet, message=message, issued_at=issued_at,
                expires_at=expires_at, ttl=int(expires.timestamp()) + NONCE_CLEANUP_SECONDS).save(
        condition=NonceRecord.pk.does_not_exist())


def consume_nonce(nonce: str, wallet: str, message: str, now: str) -> None:
    """Mark a nonce used, once: one conditional write checks that it exists, was issued to this wallet with
    exactly this message, has not expired and was not used. On failure, say which."""
    row = NonceRecord(pk=f"NONCE#{nonce}", sk=NONCE_SORT_KEY)
    condition = (NonceRecord.pk.exists() & (NonceRecord.wallet == wallet) & (NonceRecord.message == message)
                 & NonceRecord.consumed_at.does_not_exist() & (NonceRecord.expires_at > now))
    try:
        row.update(actions=[NonceRecord.consumed_at.set(now)], condition=condition)
        return
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
    try:
        stored = NonceRecord.get(row.pk, row.sk, consistent_read=True)
    except NonceRecord.DoesNotExist:
        raise PackvaultError(ErrorCode.NONCE_UNKNOWN) from None
    if stored.wallet != wallet or stored.message != message:
        raise PackvaultError(ErrorCode.NONCE_UNKNOWN)
    if stored.consumed_at is not None:
        raise PackvaultError(ErrorCode.NONCE_USED)
    raise PackvaultError(ErrorCode.NONCE_EXPIRED)


register(NonceRecord)
