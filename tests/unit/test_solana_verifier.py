"""The payment verifier on real getTransaction responses recorded from mainnet and devnet (see
tests/fixtures/solana/SOURCES.md)."""

from __future__ import annotations

import copy

import pytest

from packvault.chain.transactions import PaymentTerms, account_keys, verify_payment
from tests.fixtures.solana import load

SIGNATURE, ONE_SOL = load("mainnet_sol_transfer_1sol.json")
SENDER = "9B5XszUGdMaxCZ7uSQhPzdks5ZQSmWxrmzCSvtJ6Ns6g"
RECIPIENT = "Hzn3n914JaSpnxo5mBbmuCDmGL6mxWN9Ac2HzEXFSGtb"
BLOCK_TIME = 1650017168


def terms(**changes) -> PaymentTerms:
    return PaymentTerms(**{"recipient": RECIPIENT, "amount_base_units": 1_000_000_000, "sender": SENDER,
                           **changes})


def test_a_real_one_sol_transfer_is_valid_for_its_recipient_and_amount():
    verdict = verify_payment(ONE_SOL, terms())
    assert verdict.status == "valid"
    assert verdict.received_base_units == 1_000_000_000
    assert (verdict.payer, verdict.fee_payer, verdict.block_time) == (SENDER, SENDER, BLOCK_TIME)


def test_any_other_recipient_is_refused():
    verdict = verify_payment(ONE_SOL, terms(recipient=SENDER))
    assert (verdict.status, verdict.code) == ("invalid", "WRONG_RECIPIENT")
    assert verify_payment(ONE_SOL, terms(recipient="11111111111111111111111111111112")).code == "WRONG_RECIPIENT"


def test_asking_for_more_than_was_paid_is_an_underpayment_with_decimal_amounts():
    verdict = verify_payment(ONE_SOL, terms(amount_base_units=1_000_000_001))
    assert verdict.code == "UNDERPAID"
    assert verdict.message == "Amount mismatch: expected 1.000000001 SOL, received 1 SOL."
    assert verdict.to_json(terms(amount_base_units=1_000_000_001))["received"] == "1"


def test_tolerance_accepts_a_payment_short_by_at_most_the_tolerance():
    assert verify_payment(ONE_SOL, terms(amount_base_units=1_000_000_005, tolerance_base_units=5)).accepted
    assert not verify_payment(ONE_SOL, terms(amount_base_units=1_000_000_006, tolerance_base_units=5)).accepted


def test_an_overpayment_is_accepted_and_recorded():
    verdict = verify_payment(ONE_SOL, terms(amount_base_units=500_000_000))
    assert verdict.accepted and verdict.received_base_units == 1_000_000_000


def test_a_quote_reference_absent_from_the_transaction_is_refused():
    verdict = verify_payment(ONE_SOL, terms(reference="F1rcBbZB6tQZUTR2z8jKQxaAwUUkxnghSh941Q62hMi8"))
    assert verdict.code == "REFERENCE_MISSING"


def test_someone_elses_payment_is_refused():
    verdict = verify_payment(ONE_SOL, terms(sender="5McxjaxNKYLHtv9DqbMfoi6GNs7ZEMHGkJDrouPib4sW"))
    assert verdict.code == "SENDER_NOT_SIGNER"


def test_a_failed_transaction_is_refused_even_though_balances_moved():
    _, failed = load("mainnet_sol_transfer_failed.json")
    keys = account_keys(failed)
    verdict = verify_payment(failed, PaymentTerms(recipient=keys[1], amount_base_units=120_000_000, sender=keys[0]))
    assert (verdict.status, verdict.code) == ("invalid", "PAYMENT_FAILED")


def test_not_found_is_pending_not_a_failure():
    assert verify_payment(None, terms()).status == "pending"


def test_payment_after_the_quote_expired_is_late():
    verdict = verify_payment(ONE_SOL, terms(expires_at=BLOCK_TIME - 1))
    assert (verdict.status, verdict.code) == ("late", "PAYMENT_AFTER_EXPIRY")
    assert verify_payment(ONE_SOL, terms(expires_at=BLOCK_TIME)).accepted


def test_v0_keys_include_loaded_addresses_writable_then_readonly():
    _, v0 = load("mainnet_v0_loaded_addresses.json")
    keys = account_keys(v0)
    assert keys[3:] == ["3Yvq7e9UXLoFK4PKyxrpEA3y3TKmFK2Wb1f5tVFUgwPu", "5McxjaxNKYLHtv9DqbMfoi6GNs7ZEMHGkJDrouPib4sW",
                        "GAXzq8BWdAWaS1kWFiL5tzV2h3AbRBtYGP5psNTWrM9g", "F1rcBbZB6tQZUTR2z8jKQxaAwUUkxnghSh941Q62hMi8",
                        "5jHeQFBSNxFqqkMF9YCYwtJbkzGarSGwGsmi2ZuPG6yw"]
    assert len(keys) == len(v0["meta"]["preBalances"])


def test_a_reference_found_only_among_loaded_addresses_counts():
    _, v0 = load("mainnet_v0_loaded_addresses.json")
    paid = copy.deepcopy(v0)  # a SOL credit to a loaded writable account, with the reference loaded read-only
    paid["meta"]["postBalances"][3] += 50_000_000
    paid["meta"]["postBalances"][0] -= 50_000_000
    verdict = verify_payment(paid, PaymentTerms(recipient="3Yvq7e9UXLoFK4PKyxrpEA3y3TKmFK2Wb1f5tVFUgwPu",
                                                amount_base_units=50_000_000,
                                                reference="F1rcBbZB6tQZUTR2z8jKQxaAwUUkxnghSh941Q62hMi8",
                                                sender="RNfp4xTbBb4C3kcv2KqtAj8mu4YhMHxqm1Skg9uchZ7"))
    assert verdict.accepted


@pytest.mark.parametrize("fixture", ["mainnet_v0_loaded_addresses.json", "devnet_usdc_transfer_checked.json"])
def test_token_only_transactions_pay_no_sol(fixture):
    _, result = load(fixture)
    keys = account_keys(result)
    verdict = verify_payment(result, PaymentTerms(recipient=keys[1], amount_base_units=1, sender=keys[0]))
    assert verdict.code == "WRONG_RECIPIENT"


# --- SPL tokens: a real devnet USDC transferChecked (0.2 USDC to 91t4uS…THh, from Hzn3n9…Gtb) -----------

_, USDC_TRANSFER = load("devnet_usdc_transfer_checked.json")
DEVNET_USDC = "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU"
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"


def usdc_terms(**changes) -> PaymentTerms:
    return PaymentTerms(**{"recipient": "91t4uSdtBiftqsB24W2fRXFCXjUyc6xY3WMGFedAaTHh", "amount_base_units": 200_000,
                           "currency": "USDC", "mint": DEVNET_USDC, "token_program": TOKEN_PROGRAM,
                           "sender": "Hzn3n914JaSpnxo5mBbmuCDmGL6mxWN9Ac2HzEXFSGtb", **changes})


def test_a_real_usdc_transfer_checked_is_valid_for_its_true_recipient_and_amount():
    verdict = verify_payment(USDC_TRANSFER, usdc_terms())
    assert verdict.status == "valid" and verdict.received_base_units == 200_000
    assert verdict.to_json(usdc_terms())["received"] == "0.2"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"recipient": "Hzn3n914JaSpnxo5mBbmuCDmGL6mxWN9Ac2HzEXFSGtb"}, "WRONG_RECIPIENT"),
        ({"recipient": "6Yg9GttAiHjbHMoiomBuGBDULP7HxQyez45dEiR9CJqw"}, "WRONG_RECIPIENT"),  # the token account
        ({"amount_base_units": 200_001}, "UNDERPAID"),
        ({"mint": "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"}, "WRONG_MINT"),
        ({"sender": "91t4uSdtBiftqsB24W2fRXFCXjUyc6xY3WMGFedAaTHh"}, "SENDER_NOT_SIGNER"),
    ],
    ids=["the sender", "the token account, not its owner", "short", "mainnet USDC mint", "recipient as sender"],
)
def test_the_usdc_transfer_is_refused_for_anything_else(changes, code):
    assert verify_payment(USDC_TRANSFER, usdc_terms(**changes)).code == code


def test_a_sol_payment_does_not_pay_a_usdc_quote():
    verdict = verify_payment(ONE_SOL, PaymentTerms(recipient=RECIPIENT, amount_base_units=1, currency="USDC",
                                                   mint=DEVNET_USDC, sender=SENDER))
    assert verdict.code == "WRONG_RECIPIENT" and "no USDC" in verdict.message


# --- mainnet recordings with a separate fee payer (jsonParsed encoding) ---------------------------------

MAINNET_USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def test_a_real_mainnet_usdc_transfer_checked_with_a_separate_fee_payer_is_valid():
    _, result = load("mainnet_usdc_transfer_checked_fee_payer.json")
    terms = PaymentTerms(recipient="3i476kTBBTy7pBGx4CXwJpJ6phuwLQgcwLTdHhU3c7ui", amount_base_units=1000,
                         currency="USDC", mint=MAINNET_USDC, token_program=TOKEN_PROGRAM,
                         sender="8fusVwhgo4oS1fGpZKeRaXrJXQk9auKnAgcj9A97wR3t")
    verdict = verify_payment(result, terms)
    assert verdict.status == "valid" and verdict.received_base_units == 1000  # account created in-transaction
    assert verdict.fee_payer == "FG4Y3yX4AAchp1HvNZ7LfzFTewF2f6nDoMDCohTFrdpT" != verdict.payer
    assert verify_payment(result, PaymentTerms(**{**terms.__dict__, "amount_base_units": 1001})).code == "UNDERPAID"
    assert verify_payment(result, PaymentTerms(**{**terms.__dict__, "recipient": terms.sender})).code != "valid"
    other_mint = verify_payment(result, PaymentTerms(**{**terms.__dict__, "mint": DEVNET_USDC}))
    assert other_mint.code == "WRONG_MINT"


def test_a_real_mainnet_sol_transfer_with_a_separate_fee_payer_is_valid():
    _, result = load("mainnet_sol_transfer_fee_payer.json")
    terms = PaymentTerms(recipient="2b7iQq3PbWwWTotRSDFNXT9DauU418aCHK4jcAzETUem", amount_base_units=1_000_000,
                         sender="DT1mBDFsNBc1UXa25RdxNvnjL5Lro7su7gX1zpLyCmWe")
    verdict = verify_payment(result, terms)
    assert verdict.accepted and verdict.fee_payer == "FG4Y3yX4AAchp1HvNZ7LfzFTewF2f6nDoMDCohTFrdpT"
    fee_payer_as_buyer = PaymentTerms(**{**terms.__dict__, "sender": "FG4Y3yX4AAchp1HvNZ7LfzFTewF2f6nDoMDCohTFrdpT"})
    assert verify_payment(result, fee_payer_as_buyer).code == "SENDER_NOT_DEBITED"  # it only paid the fee
