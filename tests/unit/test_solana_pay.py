from urllib.parse import parse_qs, urlsplit

from packvault.chain.solana_pay import transfer_request_url
from packvault.core.keys import is_public_key, new_reference

RECIPIENT = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"


def test_transfer_request_follows_the_solana_pay_layout():
    reference = new_reference()
    url = transfer_request_url(RECIPIENT, "0.000000001", reference, "Packvault", "Starter Pack (3 items)",
                               "packvault:abc")
    parts = urlsplit(url)
    assert parts.scheme == "solana" and parts.path == RECIPIENT
    query = parse_qs(parts.query)
    assert query == {"amount": ["0.000000001"], "reference": [reference], "label": ["Packvault"],
                     "message": ["Starter Pack (3 items)"], "memo": ["packvault:abc"]}
    assert "Starter%20Pack%20%283%20items%29" in url  # percent-encoded, not '+'


def test_spl_token_comes_right_after_amount():
    url = transfer_request_url(RECIPIENT, "1.5", new_reference(), "L", "M", "m", spl_token="EPjFW")
    assert "?amount=1.5&spl-token=EPjFW&reference=" in url


def test_references_are_fresh_public_keys():
    references = {new_reference() for _ in range(50)}
    assert len(references) == 50 and all(is_public_key(r) for r in references)
