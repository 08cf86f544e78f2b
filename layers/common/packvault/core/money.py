"""Exact money: integer base units inside, decimal strings on the wire. Never float."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

_DECIMAL_STRING = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]+)?$")


class MoneyFormatError(ValueError):
    """A value that is not a plain, non-negative decimal string for its currency."""


SPL_TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"  # noqa: S105 - a program id


@dataclass(frozen=True)
class Currency:
    symbol: str
    decimals: int
    mint: str | None = None  # None: native SOL, or a fiat currency
    token_program: str | None = None
    rail: str = "solana"  # the payment rail that collects it (packvault.payments)

    @property
    def is_token(self) -> bool:
        return self.mint is not None


SOL = Currency("SOL", 9)
# Mainnet mints, the documented defaults; TOKEN_MINTS overrides them per cluster (settings.py).
USDC = Currency("USDC", 6, "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", SPL_TOKEN_PROGRAM)
USDT = Currency("USDT", 6, "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB", SPL_TOKEN_PROGRAM)
USD = Currency("USD", 2, rail="stripe")  # cards through Stripe Checkout; cents inside
CREDIT = Currency("CREDIT", 0, rail="credits")  # platform credits: whole units, paid from the balance
FMV_DECIMALS = 6  # fair market values are US dollars to the micro-dollar; totals are kept in micro-dollars
CREDIT_MICROS = 10_000  # one platform credit is worth exactly US$0.01 (10,000 micro-dollars of fmv)

CURRENCIES: dict[str, Currency] = {c.symbol: c for c in (SOL, USDC, USDT, USD, CREDIT)}


def configure_mints(mints: dict[str, str]) -> None:
    """Point token currencies at this cluster's mints (e.g. devnet USDC), once per container."""
    for symbol, mint in mints.items():
        known = currency(symbol)
        if not known.is_token:
            raise MoneyFormatError(f"{symbol} is not a token currency")
        CURRENCIES[known.symbol] = Currency(known.symbol, known.decimals, mint, known.token_program)


def currency(symbol: str) -> Currency:
    """The currency named by `symbol` (case-insensitive), or MoneyFormatError."""
    found = CURRENCIES.get(symbol.strip().upper()) if isinstance(symbol, str) else None
    if found is None:
        raise MoneyFormatError(f"unknown currency {symbol!r}; accepted: {', '.join(sorted(CURRENCIES))}")
    return found


def to_base_units(amount: str, decimals: int) -> int:
    """'0.05' with 9 decimals -> 50000000. Rejects floats, exponents, signs and excess precision."""
    if not isinstance(amount, str):
        raise MoneyFormatError(f"amount must be a decimal string, got {type(amount).__name__}")
    if not _DECIMAL_STRING.match(amount):
        raise MoneyFormatError(f"{amount!r} is not a plain non-negative decimal string like '0.05'")
    whole, _, fraction = amount.partition(".")
    if len(fraction) > decimals:
        raise MoneyFormatError(f"{amount!r} has more than {decimals} decimal places")
    return int(whole) * 10**decimals + int(fraction.ljust(decimals, "0") or "0")


def from_base_units(units: int, decimals: int) -> str:
    """50000000 with 9 decimals -> '0.05'. No exponent, no trailing zeros, never '-0'."""
    if isinstance(units, bool) or not isinstance(units, int):
        raise MoneyFormatError(f"base units must be an int, got {type(units).__name__}")
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), 10**decimals)
    fraction_digits = str(fraction).rjust(decimals, "0").rstrip("0") if decimals else ""
    return f"{sign}{whole}.{fraction_digits}" if fraction_digits else f"{sign}{whole}"


def canonical_decimal(amount: str, decimals: int) -> str:
    """The one spelling of a decimal amount: '0.050' -> '0.05', '1.0' -> '1'."""
    return from_base_units(to_base_units(amount, decimals), decimals)


def decimal_places(amount: str) -> int:
    """How many digits follow the point in a plain decimal string."""
    return max(0, -Decimal(amount).as_tuple().exponent)


def basis_points(rate: str) -> int:
    """'0.85' -> 8500; a rate is a decimal string from 0 to 1 with at most 4 places."""
    if not re.fullmatch(r"(0(\.[0-9]{1,4})?|1(\.0{1,4})?)", rate or ""):
        raise MoneyFormatError(f"{rate!r} is not a rate from 0 to 1 with at most 4 decimal places")
    return to_base_units(rate, 4)


def buyback_credits(fmv: str, rate_bp: int) -> int:
    """Credits paid for an item of fair value `fmv` (US dollars) at `rate_bp` basis points, rounded down to a
    whole credit: fmv micro-dollars x rate / 10,000 / 10,000 micro-dollars per credit."""
    return to_base_units(fmv, FMV_DECIMALS) * rate_bp // (10_000 * CREDIT_MICROS)
