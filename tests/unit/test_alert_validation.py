import pytest
from pydantic import ValidationError
from switchboard.alerts.models import AlertInput
from switchboard.dialects.crossbar import validation_data
from switchboard.dialects.validation import field_errors

from tests.seed_bodies import crossbar_alert

VALID = crossbar_alert("a" * 32)["data"]


def crossbar_errors(data):
    with pytest.raises(ValidationError) as caught:
        AlertInput.model_validate(data)
    return validation_data(field_errors(caught.value))


def test_seed_example_is_valid_and_level_defaults_to_info():
    alert = AlertInput.model_validate(VALID)
    assert alert.level == "info"
    assert alert.originators[0].type == "account"


def test_every_required_field_reported_at_once():
    errors = crossbar_errors({})
    for field in ("title", "message", "from", "to"):
        assert errors[field]["required"]["message"] == "Field is required but missing"


def test_unknown_recipient_type_is_an_enum_error_naming_the_choices():
    errors = crossbar_errors({**VALID, "to": [{"type": "everyone", "value": "x"}]})
    assert errors["to.0.type"]["enum"]["value"] == "everyone"
    assert set(errors["to.0.type"]["enum"]["target"]) == {"admins", "user", "resellers", "all", "descendants"}


def test_unknown_originator_type_is_rejected():
    errors = crossbar_errors({**VALID, "from": [{"type": "device", "value": "x"}]})
    assert "enum" in errors["from.0.type"]


def test_expiration_date_must_be_an_integer():
    errors = crossbar_errors({**VALID, "expiration_date": "abc"})
    assert errors["expiration_date"]["type"] == {
        "message": "Value did not match type(s): integer",
        "target": "integer",
        "value": "abc",
    }
    assert "type" in crossbar_errors({**VALID, "expiration_date": True})["expiration_date"]


def test_title_must_be_a_string():
    assert "type" in crossbar_errors({**VALID, "title": 5})["title"]


def test_empty_recipient_list_is_rejected():
    assert "minItems" in crossbar_errors({**VALID, "to": []})["to"]
