"""Hook callbacks: parsing, the codes, password masking and restoring (switchboard.rules.hooks)."""

from __future__ import annotations

import pytest
from switchboard.errors import CodedError
from switchboard.rules import hooks


def code_of(data, allow_private=False) -> tuple[str, list[str]]:
    with pytest.raises(CodedError) as caught:
        hooks.parse_hook(data, allow_private)
    return caught.value.code, caught.value.parameters


def test_plain_callbacks_are_kept():
    callback = hooks.parse_hook({"callback": "http://www.mysite.com/callback"}, False)
    assert callback == hooks.Callback("http://www.mysite.com/callback", None)
    assert callback.masked() == "http://www.mysite.com/callback"
    assert hooks.parse_hook({"callback": " HTTPS://Host.example.com:8443/a?b=c#d "}, False).url == (
        "https://Host.example.com:8443/a?b=c#d"
    )


@pytest.mark.parametrize(
    "url, bare, password, shown",
    [
        ("https://bob:pw@h.example.com/x", "https://bob@h.example.com/x", "pw", "https://bob:********@h.example.com/x"),
        (
            "https://bob:p@ss:w@h.example.com:81/",
            "https://bob@h.example.com:81/",
            "p@ss:w",
            "https://bob:********@h.example.com:81/",
        ),
        ("https://:pw@h.example.com/", "https://h.example.com/", "pw", "https://:********@h.example.com/"),
        ("https://bob:@h.example.com/", "https://bob@h.example.com/", "", "https://bob:********@h.example.com/"),
        ("https://bob@h.example.com/", "https://bob@h.example.com/", None, "https://bob@h.example.com/"),
    ],
)
def test_passwords_are_split_off_masked_and_restored(url, bare, password, shown):
    callback = hooks.parse_hook({"callback": url}, False)
    assert (callback.url, callback.password, callback.masked()) == (bare, password, shown)
    if password:
        assert hooks.with_password(callback.url, callback.password) == url
    assert "pw" not in callback.masked()


@pytest.mark.parametrize(
    "data, code",
    [
        (None, hooks.INVALID_PARAMETER),
        ([], hooks.INVALID_PARAMETER),
        ({"callback": "http://a.example.com", "other": 1}, hooks.INVALID_PARAMETER),
        ({}, hooks.MISSING_URI),
        ({"callback": ""}, hooks.MISSING_URI),
        ({"callback": ["http://a.example.com"]}, hooks.INVALID_URI),
        ({"callback": "/relative/path"}, hooks.INVALID_URI),
        ({"callback": "http://a.example.com:port/"}, hooks.INVALID_URI),
        ({"callback": "http://a.example.com/\nx"}, hooks.INVALID_URI),
        ({"callback": "http://:0/"}, hooks.INVALID_URI),
        ({"callback": "gopher://a.example.com/"}, hooks.UNSUPPORTED_PROTOCOL),
        ({"callback": "http://192.168.1.10/"}, hooks.FORBIDDEN_TARGET),
        ({"callback": "http://u:p@[fe80::1]/"}, hooks.FORBIDDEN_TARGET),
        ({"callback": "http://metadata.google.internal/"}, hooks.FORBIDDEN_TARGET),
    ],
)
def test_codes(data, code):
    found, parameters = code_of(data)
    assert found == code
    assert "p@" not in " ".join(parameters)


def test_private_targets_can_be_allowed():
    assert hooks.parse_hook({"callback": "http://u:p@127.0.0.1:9000/x"}, True).url == "http://u@127.0.0.1:9000/x"
    assert code_of({"callback": "http://127.0.0.1:9000/x"})[0] == hooks.FORBIDDEN_TARGET


def test_error_factories():
    assert (hooks.unknown_rule("r").code, hooks.unknown_rule("r").status) == ("alert.rule.unknown", 404)
    assert (hooks.unknown_hook("h").code, hooks.unknown_hook("h").status) == ("notification.endpoint.unknown.id", 404)
    assert hooks.too_many_hooks().parameters == ["20"]


@pytest.mark.parametrize("data", [None, {}])
def test_a_rotation_takes_no_parameters(data):
    hooks.parse_rotation(data)


@pytest.mark.parametrize(
    ("data", "parameter"),
    [({"signingSecret": "whsec_x"}, "signingSecret"), ([], "body"), ("x", "body"), (0, "body"), (False, "body")],
)
def test_a_rotation_refuses_any_parameter(data, parameter):
    with pytest.raises(CodedError) as caught:
        hooks.parse_rotation(data)
    assert caught.value.code == "invalid.parameter" and caught.value.parameters[0] == parameter
    assert caught.value.status == 400
