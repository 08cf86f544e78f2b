"""Accounts, their identities, passkey challenges and email codes (docs/ARCHITECTURE.md, "Accounts"):

    ACCOUNT#<account_id>        ACCOUNT     status, how it was created, how many identities it has
    IDENTITY#<kind>#<value>     IDENTITY    the one account an identity belongs to (a uniqueness row), and for a
                                            passkey its public key, sign counter and transports
                                            GSI1: ACCOUNT#<account_id>#IDENTITIES / <kind>#<value>
    CHALLENGE#<challenge>       CHALLENGE   a passkey ceremony's challenge: purpose, account, expiry, used once
    EMAILCODE#<email>           CODE        the newest one-time code sent to an address (hashed), attempts, expiry

An identity row is written in the same transaction as the account's identity count, so an identity belongs to
at most one account and an account never drops to no identity.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from packvault.core.errors import ErrorCode, PackvaultError
from packvault.core.times import parse_iso
from packvault.store.table import (
    ByKindIndex,
    EventRecord,
    Row,
    TableMeta,
    connection,
    is_condition_failure,
    new_event,
    register,
    utc_now_iso,
)

ACCOUNT_SORT_KEY = "ACCOUNT"
IDENTITY_SORT_KEY = "IDENTITY"
CHALLENGE_SORT_KEY = "CHALLENGE"
CODE_SORT_KEY = "CODE"
ACTIVE, CLOSED = "ACTIVE", "CLOSED"
IDENTITY_KINDS = ("wallet", "passkey", "email")
CLEANUP_SECONDS = 86400


class AccountRecord(Row):
    class Meta(TableMeta):
        pass

    account_id = UnicodeAttribute()
    status = UnicodeAttribute()  # ACTIVE | CLOSED
    created_with = UnicodeAttribute()  # wallet | passkey | email: the first identity
    identity_count = NumberAttribute()
    created_at = UnicodeAttribute()
    closed_at = UnicodeAttribute(null=True)
    closed_reason = UnicodeAttribute(null=True)


class IdentityRecord(Row):
    class Meta(TableMeta):
        pass

    by_kind = ByKindIndex()
    gsi1pk = UnicodeAttribute()  # ACCOUNT#<account_id>#IDENTITIES
    gsi1sk = UnicodeAttribute()  # <kind>#<value>
    account_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # wallet | passkey | email
    value = UnicodeAttribute()  # the address, the credential id (base64url) or the normalised email
    linked_at = UnicodeAttribute()
    last_used_at = UnicodeAttribute(null=True)
    public_key = UnicodeAttribute(null=True)  # passkey: COSE public key, base64url
    sign_count = NumberAttribute(null=True)  # passkey: the authenticator's counter at its last use
    transports = JSONAttribute(null=True)  # passkey: ["internal", "hybrid", ...] as the browser reported them
    aaguid = UnicodeAttribute(null=True)
    device_type = UnicodeAttribute(null=True)  # single_device | multi_device
    backed_up = BooleanAttribute(null=True)


class ChallengeRecord(Row):
    class Meta(TableMeta):
        pass

    purpose = UnicodeAttribute()  # register | authenticate | link
    account_id = UnicodeAttribute(null=True)  # register: the account to create; link: the signed-in account
    expires_at = UnicodeAttribute()
    consumed_at = UnicodeAttribute(null=True)
    ttl = NumberAttribute()  # clean-up only; validity is decided from expires_at


class EmailCodeRecord(Row):
    class Meta(TableMeta):
        pass

    code_hash = UnicodeAttribute()  # HMAC-SHA256 of the code, keyed (never the code itself)
    sent_at = UnicodeAttribute()
    expires_at = UnicodeAttribute()
    attempts = NumberAttribute()  # wrong and right guesses so far
    consumed_at = UnicodeAttribute(null=True)
    ttl = NumberAttribute()


def account_pk(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


def identity_pk(kind: str, value: str) -> str:
    return f"IDENTITY#{kind}#{value}"


def identities_key(account_id: str) -> str:
    return f"ACCOUNT#{account_id}#IDENTITIES"


def get_account(account_id: str) -> AccountRecord | None:
    try:
        return AccountRecord.get(account_pk(account_id), ACCOUNT_SORT_KEY, consistent_read=True)
    except AccountRecord.DoesNotExist:
        return None


def get_identity(kind: str, value: str) -> IdentityRecord | None:
    try:
        return IdentityRecord.get(identity_pk(kind, value), IDENTITY_SORT_KEY, consistent_read=True)
    except IdentityRecord.DoesNotExist:
        return None


def account_identities(account_id: str) -> list[IdentityRecord]:
    """Every identity of the account (the index is eventually consistent: a link of a moment ago may be missing)."""
    return list(IdentityRecord.by_kind.query(identities_key(account_id)))


def new_identity(account_id: str, kind: str, value: str, **passkey: Any) -> IdentityRecord:
    return IdentityRecord(pk=identity_pk(kind, value), sk=IDENTITY_SORT_KEY, gsi1pk=identities_key(account_id),
                          gsi1sk=f"{kind}#{value}", account_id=account_id, kind=kind, value=value,
                          linked_at=utc_now_iso(), **passkey)


class IdentityTaken(RuntimeError):
    """The identity already belongs to an account (maybe the one asking)."""


def create_account(account_id: str, identity: IdentityRecord) -> AccountRecord:
    """A new account with its first identity, in one transaction; IdentityTaken if the identity (or the account
    id) exists already."""
    now = utc_now_iso()
    account = AccountRecord(pk=account_pk(account_id), sk=ACCOUNT_SORT_KEY, account_id=account_id, status=ACTIVE,
                            created_with=identity.kind, identity_count=1, created_at=now)
    event = new_event(account.pk, "ACCOUNT_CREATED", {"account_id": account_id, "identity": _described(identity)})
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.save(account, condition=AccountRecord.pk.does_not_exist())
            transaction.save(identity, condition=IdentityRecord.pk.does_not_exist())
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError as exc:
        if not is_condition_failure(exc):
            raise
        raise IdentityTaken(identity.pk) from None
    return account


def link_identity(account_id: str, identity: IdentityRecord) -> None:
    """Add an identity to an active account, in one transaction with its count. IdentityTaken when it belongs to
    an account already; PackvaultError ACCOUNT_CLOSED / ACCOUNT_NOT_FOUND when the account cannot take it."""
    account = AccountRecord(pk=account_pk(account_id), sk=ACCOUNT_SORT_KEY)
    event = new_event(account.pk, "IDENTITY_LINKED", _described(identity))
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.update(account, actions=[AccountRecord.identity_count.add(1)],
                               condition=AccountRecord.status == ACTIVE)
            transaction.save(identity, condition=IdentityRecord.pk.does_not_exist())
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError as exc:
        if not is_condition_failure(exc):
            raise
        _refuse_closed(account_id)
        raise IdentityTaken(identity.pk) from None


def unlink_identity(account_id: str, kind: str, value: str) -> None:
    """Remove an identity from the account, never its last one, in one transaction."""
    identity = IdentityRecord(pk=identity_pk(kind, value), sk=IDENTITY_SORT_KEY)
    account = AccountRecord(pk=account_pk(account_id), sk=ACCOUNT_SORT_KEY)
    event = new_event(account.pk, "IDENTITY_UNLINKED", {"kind": kind, "value": _public_value(kind, value)})
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.delete(identity, condition=IdentityRecord.account_id == account_id)
            transaction.update(account, actions=[AccountRecord.identity_count.add(-1)],
                               condition=(AccountRecord.status == ACTIVE) & (AccountRecord.identity_count > 1))
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError as exc:
        if not is_condition_failure(exc):
            raise
        _refuse_closed(account_id)
        found = get_identity(kind, value)
        if found is None or found.account_id != account_id:
            raise PackvaultError(ErrorCode.IDENTITY_NOT_FOUND) from None
        raise PackvaultError(ErrorCode.LAST_IDENTITY) from None


def close_account(account_id: str, reason: str) -> AccountRecord:
    """Close an account (nothing is deleted: its openings, vault and ledger stay); its tokens stop working."""
    account = get_account(account_id)
    if account is None:
        raise PackvaultError(ErrorCode.ACCOUNT_NOT_FOUND)
    now = utc_now_iso()
    event = new_event(account.pk, "ACCOUNT_CLOSED", {"account_id": account_id, "reason": reason})
    try:
        with TransactWrite(connection=connection()) as transaction:
            transaction.update(account, actions=[AccountRecord.status.set(CLOSED), AccountRecord.closed_at.set(now),
                                                 AccountRecord.closed_reason.set(reason)],
                               condition=AccountRecord.status == ACTIVE)
            transaction.save(event, condition=EventRecord.pk.does_not_exist())
    except TransactWriteError as exc:
        if not is_condition_failure(exc):
            raise
        raise PackvaultError(ErrorCode.ACCOUNT_CLOSED) from None
    return get_account(account_id) or account


def _refuse_closed(account_id: str) -> None:
    account = get_account(account_id)
    if account is None:
        raise PackvaultError(ErrorCode.ACCOUNT_NOT_FOUND)
    if account.status != ACTIVE:
        raise PackvaultError(ErrorCode.ACCOUNT_CLOSED)


def _public_value(kind: str, value: str) -> str:
    """What an event may say of an identity: an email is personal data, so only its domain."""
    return "***@" + value.partition("@")[2] if kind == "email" else value


def _described(identity: IdentityRecord) -> dict[str, str]:
    return {"kind": identity.kind, "value": _public_value(identity.kind, identity.value)}


def record_passkey_use(identity: IdentityRecord, sign_count: int) -> bool:
    """Move the credential's counter to `sign_count`, only from the value that was checked (a concurrent use of a
    cloned authenticator loses). False when the counter moved meanwhile."""
    try:
        identity.update(actions=[IdentityRecord.sign_count.set(sign_count),
                                 IdentityRecord.last_used_at.set(utc_now_iso())],
                        condition=IdentityRecord.sign_count == int(identity.sign_count or 0))
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        return False
    return True


def put_challenge(challenge: str, purpose: str, account_id: str | None, expires_at: str) -> None:
    ChallengeRecord(pk=f"CHALLENGE#{challenge}", sk=CHALLENGE_SORT_KEY, purpose=purpose, account_id=account_id,
                    expires_at=expires_at, ttl=int(parse_iso(expires_at).timestamp()) + CLEANUP_SECONDS).save(
        condition=ChallengeRecord.pk.does_not_exist())


def consume_challenge(challenge: str, purpose: str, now: str) -> ChallengeRecord:
    """Use a challenge once: one conditional write checks it was issued here for this purpose, is unexpired and
    unused; the row as it now is (PynamoDB reads the updated item back). PackvaultError CHALLENGE_UNKNOWN otherwise
    (which of these failed is not told)."""
    row = ChallengeRecord(pk=f"CHALLENGE#{challenge}", sk=CHALLENGE_SORT_KEY)
    condition = (ChallengeRecord.pk.exists() & (ChallengeRecord.purpose == purpose)
                 & ChallengeRecord.consumed_at.does_not_exist() & (ChallengeRecord.expires_at > now))
    try:
        row.update(actions=[ChallengeRecord.consumed_at.set(now)], condition=condition)
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        raise PackvaultError(ErrorCode.CHALLENGE_UNKNOWN) from None
    return row


def put_email_code(email: str, code_hash: str, sent_at: str, expires_at: str) -> None:
    """The address's newest code; it replaces any earlier one (only the newest email's code works)."""
    EmailCodeRecord(pk=f"EMAILCODE#{email}", sk=CODE_SORT_KEY, code_hash=code_hash, sent_at=sent_at,
                    expires_at=expires_at, attempts=0,
                    ttl=int(parse_iso(expires_at).timestamp()) + CLEANUP_SECONDS).save()


def get_email_code(email: str) -> EmailCodeRecord | None:
    try:
        return EmailCodeRecord.get(f"EMAILCODE#{email}", CODE_SORT_KEY, consistent_read=True)
    except EmailCodeRecord.DoesNotExist:
        return None


def spend_code_attempt(row: EmailCodeRecord, correct: bool, now: str) -> bool:
    """Count one guess against the code as it was read (and use the code up when the guess is right), only if
    nobody guessed or used it meanwhile; False when someone did (read again)."""
    actions = [EmailCodeRecord.attempts.add(1)] + ([EmailCodeRecord.consumed_at.set(now)] if correct else [])
    try:
        row.update(actions=actions, condition=(EmailCodeRecord.attempts == int(row.attempts))
                   & EmailCodeRecord.consumed_at.does_not_exist() & (EmailCodeRecord.code_hash == row.code_hash))
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        return False
    return True


def has_buyer_history(wallet: str) -> bool:
    """Whether a wallet was a buyer before it had an account row (openings, orders, a credit balance or a seed pair
    keyed by its address): such a wallet is its own account, and is never linked into another one."""
    from packvault.store.ledger import BALANCE_SORT_KEY, CreditBalanceRecord, balance_pk
    from packvault.store.openings import wallet_openings
    from packvault.store.orders import wallet_orders
    from packvault.store.seeds import current_pair

    if wallet_openings(wallet, 1, None).rows or wallet_orders(wallet, 1, None).rows:
        return True
    try:
        CreditBalanceRecord.get(balance_pk(wallet), BALANCE_SORT_KEY, consistent_read=True)
        return True
    except CreditBalanceRecord.DoesNotExist:
        return current_pair(wallet) is not None


register(AccountRecord, IdentityRecord, ChallengeRecord, EmailCodeRecord)
