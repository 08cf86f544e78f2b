import pytest
from hypothesis import given
from hypothesis import strategies as st

from packvault.core import money


@pytest.mark.parametrize(
    ("text", "units"),
    [("0.05", 50_000_000), ("1", 1_000_000_000), ("0.000000001", 1), ("12.5", 12_500_000_000), ("0", 0)],
)
def test_decimal_strings_convert_to_exact_lamports(text, units):
    assert money.to_base_units(text, 9) == units


@pytest.mark.parametrize(
    ("units", "text"),
    [(50_000_000, "0.05"), (1, "0.000000001"), (1_000_000_000, "1"), (0, "0"), (10**20, "100000000000")],
)
def test_lamports_render_without_exponent_or_trailing_zeros(units, text):
    assert money.from_base_units(units, 9) == text


@pytest.mark.parametrize("bad", ["1e-9", "-1", "+1", ".5", "1.", "0x10", " 1", "1,5", "", "01", "NaN", "0.0000000001"])
def test_malformed_or_too_precise_amounts_are_rejected(bad):
    with pytest.raises(money.MoneyFormatError):
        money.to_base_units(bad, 9)


def test_floats_are_refused_not_rounded():
    with pytest.raises(money.MoneyFormatError, match="decimal string"):
        money.to_base_units(0.05, 9)  # type: ignore[arg-type]
    with pytest.raises(money.MoneyFormatError):
        money.from_base_units(0.5, 9)  # type: ignore[arg-type]


def test_canonical_decimal_has_one_spelling():
    assert money.canonical_decimal("0.050", 9) == "0.05"
    assert money.canonical_decimal("2.00", 18) == "2"


def test_unknown_currency_names_the_accepted_ones():
    with pytest.raises(money.MoneyFormatError, match="accepted: CREDIT, SOL, USD, USDC, USDT"):
        money.currency("DOGE")
    assert money.currency(" sol ") is money.SOL


@given(st.integers(min_value=0, max_value=10**30), st.integers(min_value=0, max_value=18))
def test_base_units_round_trip(units, decimals):
    assert money.to_base_units(money.from_base_units(units, decimals), decimals) == units


@pytest.mark.parametrize(("fmv", "rate", "credits"), [("12", "0.85", 1020), ("1.20", "0.85", 102),
                                                      ("0.01", "0.85", 0), ("0.35", "0.9", 31), ("250", "1", 25000),
                                                      ("0.123456", "0.5", 6)])
def test_buyback_credits_are_exact_and_round_down(fmv, rate, credits):
    assert money.buyback_credits(fmv, money.basis_points(rate)) == credits


@pytest.mark.parametrize("rate", ["1.1", "-0.5", "0.12345", "85%", "", "1e-1"])
def test_a_buyback_rate_is_a_plain_decimal_from_0_to_1(rate):
    with pytest.raises(money.MoneyFormatError):
        money.basis_points(rate)
