import base64
import json
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from switchboard.delivery.payload import message_id, render, sign

EVENT_ID = "d0qgWF8ERLGn_7JJOGhqNQ"
FIELDS = {
    "number": "+17805199493",
    "previous_carrier_id": "1025",
    "tracking_id": "1655272074",
    "deactivation_date": "2017-06-03T04:00:00Z",
}
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def _render(fields=FIELDS, fmt="JSON", attempt=1, key_fields=("number",)):
    return render(
        "NIS-Events", attempt, EVENT_ID, "deactivation_event", "2017-07-12T20:21:00.129Z", fields, list(key_fields), fmt
    )


def test_json_body_matches_the_ess_example():
    body, headers = _render()
    assert body == (
        b'{"topic":"NIS-Events","attempt":1,"event-id":"d0qgWF8ERLGn_7JJOGhqNQ",'
        b'"event":{"evt-tp":"deactivation_event","timestamp":"2017-07-12T20:21:00.129Z",'
        b'"fld-val-list":{"number":"+17805199493","previous_carrier_id":"1025",'
        b'"tracking_id":"1655272074","deactivation_date":"2017-06-03T04:00:00Z"}}}'
    )
    assert headers == {
        "Content-Type": "application/json; charset=UTF-8",
        "X-ESS-EVENT-KEY": "+17805199493,",
        "X-ESS-EVENT-TIMESTAMP": "2017-07-12T20:21:00.129Z",
    }


def test_only_attempt_changes_between_attempts():
    first, _ = _render(attempt=1)
    third, _ = _render(attempt=3)
    assert json.loads(third) == {**json.loads(first), "attempt": 3}


def test_json_scalars_keep_their_types():
    body, _ = _render({"flag": True, "n": None, "count": 3, "price": Decimal("1.25"), "whole": Decimal(7), "é": "ü"})
    assert json.loads(body)["event"]["fld-val-list"] == {
        "flag": True,
        "n": None,
        "count": 3,
        "price": 1.25,
        "whole": 7,
        "é": "ü",
    }
    assert "ü".encode() in body


def test_event_key_joins_every_key_field_with_trailing_commas():
    _, headers = _render(key_fields=("number", "tracking_id", "missing"))
    assert headers["X-ESS-EVENT-KEY"] == "+17805199493,1655272074,,"


def test_header_injection_is_stripped():
    _, headers = _render({"number": "+1\r\nX-Evil: 1"})
    assert headers["X-ESS-EVENT-KEY"] == "+1X-Evil: 1,"


def test_xml_body_is_the_same_tree():
    body, headers = _render(fmt="XML")
    assert headers["Content-Type"] == "application/xml; charset=UTF-8"
    assert body.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = ET.fromstring(body)
    assert root.tag == "event-notification"
    assert [child.tag for child in root] == ["topic", "attempt", "event-id", "event"]
    assert root.findtext("attempt") == "1"
    assert root.findtext("event-id") == EVENT_ID
    assert root.findtext("event/evt-tp") == "deactivation_event"
    assert {e.tag: e.text for e in root.find("event/fld-val-list")} == FIELDS


def test_xml_escapes_names_and_values():
    fields = {
        "ok-name": "<script>&\"'</script>",
        "has space": "a]]>b",
        "xmlish": "x",
        "1digit": "y",
        "flag": False,
        "gone": None,
        "ctl": "a\x01b",
    }
    root = ET.fromstring(_render(fields, fmt="XML")[0])
    items = list(root.find("event/fld-val-list"))
    assert [(e.tag, e.get("name")) for e in items] == [
        ("ok-name", None),
        ("field", "has space"),
        ("field", "xmlish"),
        ("field", "1digit"),
        ("flag", None),
        ("gone", None),
        ("ctl", None),
    ]
    assert items[0].text == "<script>&\"'</script>"
    assert items[1].text == "a]]>b"
    assert items[4].text == "false"
    assert items[5].text is None and items[5].get(XSI_NIL) == "true"
    assert items[6].text == "a\ufffdb"


@given(st.dictionaries(st.text(min_size=1), st.none() | st.booleans() | st.integers() | st.text(), max_size=5))
def test_xml_is_always_well_formed(fields):
    root = ET.fromstring(_render(fields, fmt="XML")[0])
    assert len(root.find("event/fld-val-list")) == len(fields)


def test_unknown_format_is_refused():
    with pytest.raises(ValueError):
        _render(fmt="CSV")


def test_message_id_is_the_delivery_id():
    assert message_id(EVENT_ID, "1266") == f"{EVENT_ID}:1266"
    with pytest.raises(ValueError):
        message_id("a.b", "1266")


def _secret(seed: bytes) -> str:
    return "whsec_" + base64.b64encode(seed * 8).decode()


CURRENT, PREVIOUS = _secret(b"curr"), _secret(b"prev")


@pytest.mark.parametrize("secret", [CURRENT, PREVIOUS])
def test_standardwebhooks_verifies_each_secret(secret):
    body, _ = _render()
    headers = sign(message_id(EVENT_ID, "1266"), int(time.time()), body, [CURRENT, PREVIOUS])
    assert headers["webhook-id"] == f"{EVENT_ID}:1266"
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(secret).verify(body, headers) == json.loads(body)


def test_standardwebhooks_rejects_tampering_and_other_secrets():
    body, _ = _render()
    headers = sign(message_id(EVENT_ID, "1266"), int(time.time()), body, [CURRENT])
    with pytest.raises(WebhookVerificationError):
        Webhook(CURRENT).verify(body.replace(b"1025", b"1026"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(PREVIOUS).verify(body, headers)


def test_signature_matches_the_reference_signer():
    body, _ = _render()
    ours = sign("evt:1", 1_700_000_000, body, [CURRENT])["webhook-signature"]
    when = datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert ours == Webhook(CURRENT).sign("evt:1", when, body.decode())


@pytest.mark.parametrize("secrets", [[], ["plain"], ["whsec_!!!"], ["whsec_"]])
def test_bad_secrets_are_refused(secrets):
    with pytest.raises(ValueError):
        sign("id", 1, b"{}", secrets)
