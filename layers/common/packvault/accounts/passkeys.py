"""Passkeys (WebAuthn) with the maintained `webauthn` library (py_webauthn): registration and authentication
ceremonies whose challenges are single-use rows with a short TTL, a relying-party id and allowed origins from
configuration, user verification required, the sign counter checked and moved by a conditional write, and
credentials stored with their public key and transports. Only the passkey function imports this module (and so
the library)."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, parse_client_data_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from packvault import store
from packvault.accounts.principal import link, require_open
from packvault.core.errors import ErrorCode, PackvaultError, default_message
from packvault.core.keys import new_account_id
from packvault.core.settings import Settings
from packvault.core.times import iso_millis

REGISTER, AUTHENTICATE, LINK = "register", "authenticate", "link"
_TRANSPORTS = {transport.value for transport in AuthenticatorTransport}
MAX_CREDENTIAL_JSON = 16_384


def relying_party(settings: Settings) -> tuple[str, list[str]]:
    """(rp id, allowed origins): PASSKEY_RP_ID and PASSKEY_ORIGINS, else ALLOWED_ORIGINS. 503
    PASSKEYS_NOT_CONFIGURED when either is missing."""
    origins = list(settings.passkey_origins or (o for o in settings.allowed_origins if o != "*"))
    if settings.passkey_rp_id is None or not origins:
        raise PackvaultError(ErrorCode.PASSKEYS_NOT_CONFIGURED)
    return settings.passkey_rp_id, origins


def registration_options(settings: Settings, purpose: str, account_id: str | None, name: Any) -> dict[str, Any]:
    """Options for navigator.credentials.create(): for a new account (register) or the signed-in one (link)."""
    rp_id, _ = relying_party(settings)
    display = _display_name(name)
    if purpose == REGISTER:
        account_id = new_account_id()
        excluded = []
    else:
        assert account_id is not None
        excluded = [PublicKeyCredentialDescriptor(id=base64url_to_bytes(row.value))
                    for row in store.account_identities(account_id) if row.kind == "passkey"]
    challenge = _new_challenge(settings, purpose, account_id)
    options = generate_registration_options(
        rp_id=rp_id, rp_name=settings.passkey_rp_name, user_id=account_id.encode(), user_name=display,
        user_display_name=display, challenge=challenge, timeout=settings.passkey_challenge_ttl_seconds * 1000,
        exclude_credentials=excluded,
        authenticator_selection=AuthenticatorSelectionCriteria(resident_key=ResidentKeyRequirement.REQUIRED,
                                                               user_verification=UserVerificationRequirement.REQUIRED))
    return {"options": json.loads(options_to_json(options)), "expires_in": settings.passkey_challenge_ttl_seconds}


def authentication_options(settings: Settings) -> dict[str, Any]:
    """Options for navigator.credentials.get(): any passkey of this site (discoverable credentials)."""
    rp_id, _ = relying_party(settings)
    challenge = _new_challenge(settings, AUTHENTICATE, None)
    options = generate_authentication_options(rp_id=rp_id, challenge=challenge,
                                              timeout=settings.passkey_challenge_ttl_seconds * 1000,
                                              user_verification=UserVerificationRequirement.REQUIRED)
    return {"options": json.loads(options_to_json(options)), "expires_in": settings.passkey_challenge_ttl_seconds}


def register(settings: Settings, credential: Any, signed_in: str | None = None) -> str:
    """Verify a new passkey and store it: a new account (register), or linked to the signed-in account (link).
    Returns the account id."""
    rp_id, origins = relying_party(settings)
    credential = _credential(credential)
    purpose = LINK if signed_in is not None else REGISTER
    challenge, row = _consume(credential, purpose)
    if purpose == LINK and row.account_id != signed_in:
        raise PackvaultError(ErrorCode.CHALLENGE_UNKNOWN)
    try:
        verified = verify_registration_response(credential=credential, expected_challenge=challenge,
                                                expected_rp_id=rp_id, expected_origin=origins,
                                                require_user_verification=True)
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PackvaultError(ErrorCode.PASSKEY_REFUSED, _reason(exc)) from None
    transports = [t for t in credential["response"].get("transports") or [] if t in _TRANSPORTS]
    account_id = row.account_id
    identity = store.new_identity(
        account_id, "passkey", bytes_to_base64url(verified.credential_id),
        public_key=bytes_to_base64url(verified.credential_public_key), sign_count=verified.sign_count,
        transports=transports, aaguid=verified.aaguid, device_type=str(verified.credential_device_type.value),
        backed_up=bool(verified.credential_backed_up))
    if purpose == LINK:
        link(account_id, identity)
        return account_id
    try:
        store.create_account(account_id, identity)
    except store.IdentityTaken:
        raise PackvaultError(ErrorCode.IDENTITY_TAKEN) from None
    return account_id


def authenticate(settings: Settings, credential: Any) -> str:
    """Verify a passkey assertion against the stored credential; the account it signs in to."""
    rp_id, origins = relying_party(settings)
    credential = _credential(credential)
    challenge, _ = _consume(credential, AUTHENTICATE)
    identity = store.get_identity("passkey", _credential_id(credential))
    if identity is None:
        raise PackvaultError(ErrorCode.PASSKEY_UNKNOWN)
    user_handle = credential["response"].get("userHandle")
    if user_handle and _decoded(user_handle) != identity.account_id.encode():
        raise PackvaultError(ErrorCode.PASSKEY_REFUSED, "The passkey names another account than the one it is "
                             "registered to.")
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id, expected_origin=origins,
            credential_public_key=base64url_to_bytes(identity.public_key or ""),
            credential_current_sign_count=int(identity.sign_count or 0), require_user_verification=True)
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PackvaultError(ErrorCode.PASSKEY_REFUSED, _reason(exc)) from None
    if not store.record_passkey_use(identity, verified.new_sign_count):
        raise PackvaultError(ErrorCode.PASSKEY_REFUSED, "The passkey was used twice at once; sign in again.")
    require_open(identity.account_id)
    return identity.account_id


def _new_challenge(settings: Settings, purpose: str, account_id: str | None) -> bytes:
    challenge = secrets.token_bytes(32)
    expires = datetime.now(UTC) + timedelta(seconds=settings.passkey_challenge_ttl_seconds)
    store.put_challenge(bytes_to_base64url(challenge), purpose, account_id, iso_millis(expires))
    return challenge


def _consume(credential: dict[str, Any], purpose: str) -> tuple[bytes, store.ChallengeRecord]:
    """The challenge the browser signed, used up now (before the response is verified: a failed attempt spends
    it too, so a challenge is never tried twice)."""
    try:
        client_data = parse_client_data_json(base64url_to_bytes(credential["response"]["clientDataJSON"]))
    except (WebAuthnException, ValueError, KeyError, TypeError):
        raise PackvaultError(ErrorCode.INVALID_CREDENTIAL) from None
    challenge = bytes(client_data.challenge)
    return challenge, store.consume_challenge(bytes_to_base64url(challenge), purpose, iso_millis(datetime.now(UTC)))


def _credential(value: Any) -> dict[str, Any]:
    if (not isinstance(value, dict) or not isinstance(value.get("response"), dict)
            or not isinstance(value.get("rawId", value.get("id")), str)
            or len(json.dumps(value)) > MAX_CREDENTIAL_JSON):
        raise PackvaultError(ErrorCode.INVALID_CREDENTIAL)
    return value


def _credential_id(credential: dict[str, Any]) -> str:
    return bytes_to_base64url(_decoded(credential.get("rawId") or credential["id"]))


def _decoded(text: Any) -> bytes:
    try:
        return base64url_to_bytes(text)
    except (ValueError, TypeError):
        raise PackvaultError(ErrorCode.INVALID_CREDENTIAL) from None


def _display_name(name: Any) -> str:
    if name is None:
        return "Packvault buyer"
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 64 or not name.strip().isprintable():
        raise PackvaultError(ErrorCode.VALIDATION_FAILED, "name: 1-64 printable characters (what your passkey "
                             "manager shows).")
    return name.strip()


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "sign count" in text.lower():
        return ("The passkey's signature counter went backwards: the authenticator may have been cloned. Sign-in "
                "refused.")
    return f"The passkey response did not verify: {text[:200]}" if text else default_message(ErrorCode.PASSKEY_REFUSED)
