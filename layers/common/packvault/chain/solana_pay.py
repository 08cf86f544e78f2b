"""Solana Pay transfer requests (https://docs.solanapay.com/spec): the URL a wallet opens to pay a quote."""

from __future__ import annotations

from urllib.parse import quote


def transfer_request_url(
    recipient: str, amount: str, reference: str, label: str, message: str, memo: str, spl_token: str | None = None
) -> str:
    """solana:<recipient>?amount=..&spl-token=..&reference=..&label=..&message=..&memo=..

    `amount` is already a plain decimal string in the currency's own units (never scientific notation);
    label, message and memo are percent-encoded as the spec requires.
    """
    params = [("amount", amount)]
    if spl_token:
        params.append(("spl-token", spl_token))
    params += [("reference", reference), ("label", label), ("message", message), ("memo", memo)]
    return f"solana:{recipient}?" + "&".join(f"{key}={quote(value, safe='')}" for key, value in params)
