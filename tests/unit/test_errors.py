from packvault.core.errors import ErrorCode, PackvaultError, catalogue


def test_every_code_has_an_http_status_and_a_human_message():
    entries = catalogue()
    assert set(entries) == set(ErrorCode)
    for code, (status, message) in entries.items():
        assert 400 <= status <= 599, code
        assert message.endswith("."), code


def test_error_body_has_the_one_shape():
    body = PackvaultError(ErrorCode.PACK_NOT_FOUND, "No pack has the id 'x'.", pack_id="x").to_body("req-1")
    assert body == {"error": {"code": "PACK_NOT_FOUND", "message": "No pack has the id 'x'.",
                              "details": {"pack_id": "x"}, "request_id": "req-1"}}


def test_default_message_comes_from_the_catalogue():
    error = PackvaultError(ErrorCode.INVALID_JSON)
    assert error.status == 400
    assert error.message == catalogue()[ErrorCode.INVALID_JSON][1]
