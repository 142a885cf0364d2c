import json

import pytest
from switchboard.events.catalog import CATALOG_PATH, Catalog, EventType, FieldSpec, Topic, load_catalog

# Seed 003, `get /topics` example, verbatim.
SEED_TOPICS = [
    {
        "topic-nm": "ABA-Messages",
        "svc-nm": "ABA",
        "evt-tp-list": [
            "aba_job_completed",
            "aba_job_queued",
            "aba_job_resumed",
            "aba_job_started",
            "aba_job_suspended",
        ],
    },
    {"topic-nm": "DevTest-Events", "evt-tp-list": ["__GENERIC__"]},
    {
        "topic-nm": "MSS-Messages",
        "svc-nm": "MSS",
        "evt-tp-list": ["event_file_complete", "event_file_delete", "event_file_download"],
    },
    {
        "topic-nm": "NIS-Events",
        "svc-nm": "NIS",
        "evt-tp-list": ["deactivation_event", "porting_event", "truedisconnect_event"],
    },
    {
        "topic-nm": "SCG-Communication-Assistant",
        "svc-nm": "SCG / IMN",
        "evt-tp-list": [
            "communication_application_processor",
            "communication_application_session_custom_event",
            "communication_application_session_state_change",
        ],
    },
    {"topic-nm": "SCG-Contact", "svc-nm": "SCG / IMN", "evt-tp-list": ["application_token_state_change"]},
    {"topic-nm": "SCG-Keyword", "svc-nm": "SCG / IMN", "evt-tp-list": ["keyword_message_received"]},
    {
        "topic-nm": "SCG-Message",
        "svc-nm": "SCG / IMN",
        "evt-tp-list": ["message_request_state_change", "message_state_change", "mo_message_received"],
    },
    {
        "topic-nm": "SCG-Sender-ID",
        "svc-nm": "SCG / IMN",
        "evt-tp-list": ["sender_id_recipient_consent_change", "sender_id_state_change"],
    },
    {
        "topic-nm": "SCG-Voice-Call",
        "svc-nm": "SCG / IMN",
        "evt-tp-list": [
            "bridge_playback_state_change",
            "bridge_tts_state_change",
            "call_incoming_received",
            "call_playback_state_change",
            "call_state_change",
            "call_tts_state_change",
            "collector_state_change",
            "conference_member_play_state_change",
            "conference_member_state_change",
            "conference_member_tts_state_change",
            "conference_playback_state_change",
            "conference_speak_state_change",
            "conference_state_change",
            "dtmf",
            "recording_state_change",
        ],
    },
]

# Seed 003, `get /event-types/{CODE}` example, verbatim (agrees with the `get /event-types` entry).
SEED_ABA_JOB_COMPLETED = {
    "id": "aba_job_completed",
    "validation-type": "strict",
    "fields": {
        "output_file_uri": {"type": "Text", "mandatory": False},
        "company-id": {"type": "Integer", "mandatory": False},
        "file_uri": {"type": "Text", "mandatory": True},
        "job_name": {"type": "Text", "mandatory": True},
        "job_exec_complete_timestamp": {"type": "Date", "mandatory": True},
        "error_file_uri": {"type": "Text", "mandatory": False},
        "error_details_file_uri": {"type": "Text", "mandatory": False},
        "file_name": {"type": "Text", "mandatory": True},
        "job_exec_status": {"type": "Text", "mandatory": True},
        "schedule_uri": {"type": "Text", "mandatory": True},
        "execution_uri": {"type": "Text", "mandatory": True},
    },
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def spec(catalog: Catalog, code: str) -> dict[str, tuple[str, bool]]:
    event_type = catalog.event_type(code)
    assert event_type is not None, code
    return {name: (field.type, field.mandatory) for name, field in event_type.fields.items()}


# Topics Switchboard's own modules publish on, shipped beside seed 003's (docs/usage.md, docs/services.md).
SWITCHBOARD_TOPICS = {"Usage-Events", "Billing-Events"}


def test_topics_equal_the_seed_example(catalog):
    seed = [topic for topic in catalog.topics if topic.name not in SWITCHBOARD_TOPICS]
    assert [topic.model_dump(by_alias=True, exclude_none=True) for topic in seed] == SEED_TOPICS
    assert catalog.topic("DevTest-Events").service is None
    assert catalog.topic("SCG-Voice-Call").service == "SCG / IMN"
    assert catalog.topic("nope") is None


def test_counts(catalog):
    assert len(catalog.topics) == 10 + len(SWITCHBOARD_TOPICS)
    assert sum(len(topic.event_types) for topic in catalog.topics) == 37 + 2
    # 37 from `get /event-types` (36 in topics + health-check), __GENERIC__ (no schema in the seed),
    # threshold_reached (Usage-Events, 12 fields) and services_synchronized (Billing-Events, 6 fields)
    assert len(catalog.event_types) == 38 + 2
    assert sum(len(event_type.fields) for event_type in catalog.event_types.values()) == 292 + 12 + 6
    types = {field.type for event_type in catalog.event_types.values() for field in event_type.fields.values()}
    assert types == {"Text", "Integer", "Date", "Decimal", "Boolean"}


def test_every_topic_event_type_resolves(catalog):
    for topic in catalog.topics:
        resolved = catalog.event_types_of(topic.name)
        assert [event_type.id for event_type in resolved] == topic.event_types
    in_topics = {code for topic in catalog.topics for code in topic.event_types}
    assert set(catalog.event_types) - in_topics == {"health-check"}


def test_document_round_trip(catalog):
    text = CATALOG_PATH.read_text(encoding="utf-8")
    assert catalog.to_document() == json.loads(text)
    assert json.dumps(catalog.to_document(), indent=2, ensure_ascii=False) + "\n" == text
    assert load_catalog() is catalog


def test_nis_deactivation_event(catalog):
    event_type = catalog.event_type("deactivation_event")
    assert event_type.validation_type == "strict"
    assert spec(catalog, "deactivation_event") == {
        "number": ("Text", True),
        "previous_carrier_id": ("Text", False),
        "company-id": ("Integer", False),
        "previous_carrier_name": ("Text", False),
        "tracking_id": ("Text", False),
        "deactivation_date": ("Date", True),
    }
    assert event_type.mandatory_fields == ["number", "deactivation_date"]


def test_aba_job_completed_matches_get_event_type_example(catalog):
    assert catalog.event_type("aba_job_completed").model_dump(by_alias=True, exclude_none=True) == (
        SEED_ABA_JOB_COMPLETED
    )


def test_spot_checks(catalog):
    porting = spec(catalog, "porting_event")
    assert porting["porting_date"] == ("Date", True)
    assert porting["carrier_id"] == ("Text", False)
    mo = spec(catalog, "mo_message_received")
    assert mo["mo_price"] == ("Decimal", False)
    assert mo["has_attachment"] == ("Boolean", False)
    assert mo["message_body"] == ("Text", True)
    assert mo["fragments_count"] == ("Integer", False)
    call = spec(catalog, "call_state_change")
    assert call["call_duration"] == ("Integer", True)
    assert call["call_price"] == ("Decimal", False)
    assert spec(catalog, "dtmf") == {
        "company-id": ("Integer", False),
        "call_external_id": ("Text", True),
        "application_id": ("Integer", False),
        "call_id": ("Text", True),
        "digit": ("Text", True),
    }
    event_file = spec(catalog, "event_file_complete")
    assert event_file["expire_time"] == ("Date", True)
    assert event_file["file_size"] == ("Integer", True)
    assert all(
        event_type.fields["company-id"] == FieldSpec(type="Integer", mandatory=False)
        for code, event_type in catalog.event_types.items()
        if code != "__GENERIC__"
    )


def test_special_event_types(catalog):
    generic = catalog.event_type("__GENERIC__")
    assert (generic.validation_type, generic.fields) == ("allow-additional-fields", {})
    health = catalog.event_type("health-check")
    assert health.validation_type == "allow-additional-fields"
    assert spec(catalog, "health-check") == {"company-id": ("Integer", False)}
    strict = [code for code, et in catalog.event_types.items() if et.validation_type == "strict"]
    assert len(strict) == 36 + 2  # + threshold_reached and services_synchronized


def test_fields_of_topic(catalog):
    assert catalog.fields_of_topic("NIS-Events") == {
        "number",
        "previous_carrier_id",
        "previous_carrier_name",
        "carrier_id",
        "carrier_name",
        "company-id",
        "tracking_id",
        "deactivation_date",
        "porting_date",
    }
    assert catalog.fields_of_topic("DevTest-Events") == set()
    assert catalog.fields_of_topic("nope") == set()
    assert catalog.event_types_of("nope") == []


def test_dictionaries(catalog):
    codes = {name: [entry.code for entry in entries] for name, entries in catalog.dictionaries.items()}
    assert codes == {
        "delivery-formats": ["JSON", "XML"],
        "delivery-protocols": ["REST"],
        "authentication-types": ["OAUTH", "NONE", "BASIC"],
    }
    descriptions = {entry.code: entry.description for entry in catalog.dictionaries["authentication-types"]}
    assert descriptions == {
        "OAUTH": "OAuth 2.0",
        "NONE": "No Authentication",
        "BASIC": "Basic Authentication - ID / PW",
    }


def test_models_use_wire_names():
    topic = Topic.model_validate({"topic-nm": "X", "evt-tp-list": ["a"]})
    assert (topic.name, topic.service, topic.event_types) == ("X", None, ["a"])
    assert topic.model_dump(by_alias=True, exclude_none=True) == {"topic-nm": "X", "evt-tp-list": ["a"]}
    event_type = EventType(id="a", validation_type="strict", fields={"n": FieldSpec(type="Text", mandatory=True)})
    assert event_type.model_dump(by_alias=True) == {
        "id": "a",
        "validation-type": "strict",
        "fields": {"n": {"type": "Text", "mandatory": True}},
    }


def test_merged_adds_extends_and_replaces(catalog):
    before = catalog.to_document()
    merged = catalog.merged(
        {
            "topics": [
                {"topic-nm": "IoT-Events", "svc-nm": "IOT", "evt-tp-list": ["sim_state_change"]},
                {"topic-nm": "NIS-Events", "evt-tp-list": ["porting_event", "number_reassigned"]},
            ],
            "event-types": [
                {
                    "id": "sim_state_change",
                    "validation-type": "strict",
                    "fields": {
                        "iccid": {"type": "Text", "mandatory": True},
                        "state": {"type": "Text", "mandatory": True},
                    },
                },
                {
                    "id": "number_reassigned",
                    "validation-type": "allow-additional-fields",
                    "fields": {"number": {"type": "Text", "mandatory": True}},
                },
                {"id": "dtmf", "validation-type": "strict", "fields": {"digit": {"type": "Text", "mandatory": True}}},
            ],
            "dictionaries": {"delivery-formats": [{"code": "XML", "description": "XML 1.0"}]},
        }
    )
    assert catalog.to_document() == before  # the original is untouched
    assert [topic.name for topic in merged.topics] == [*(t.name for t in catalog.topics), "IoT-Events"]
    assert merged.topic("IoT-Events").service == "IOT"
    nis = merged.topic("NIS-Events")
    assert nis.event_types == ["deactivation_event", "porting_event", "truedisconnect_event", "number_reassigned"]
    assert nis.service == "NIS"
    assert "iccid" in merged.fields_of_topic("IoT-Events")
    assert spec(merged, "dtmf") == {"digit": ("Text", True)}
    assert list(merged.event_types)[-2:] == ["sim_state_change", "number_reassigned"]
    assert len(merged.event_types) == len(catalog.event_types) + 2
    formats = {entry.code: entry.description for entry in merged.dictionaries["delivery-formats"]}
    assert formats == {"JSON": "JavaScript Object Notation", "XML": "XML 1.0"}
    assert merged.merged({}).to_document() == merged.to_document()


def test_merged_topic_may_use_existing_event_types(catalog):
    merged = catalog.merged({"topics": [{"topic-nm": "Health", "evt-tp-list": ["health-check"]}]})
    assert [event_type.id for event_type in merged.event_types_of("Health")] == ["health-check"]


FLOAT_FIELD = {"type": "Float", "mandatory": True}
STRING_MANDATORY = {"type": "Text", "mandatory": "yes"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "expected an object"),
        ({"topic": []}, "unknown key(s) 'topic'"),
        ({"topics": {}}, "'topics' must be a list"),
        (
            {"topics": [{"topic-nm": "X", "evt-tp-list": ["nowhere"]}]},
            "topic 'X' lists event type(s) that exist nowhere: nowhere",
        ),
        ({"topics": [{"topic-nm": "NIS-Events", "evt-tp-list": ["ghost"]}]}, "exist nowhere: ghost"),
        ({"topics": [{"evt-tp-list": []}]}, "topics[0]: topic-nm: Field required"),
        ({"topics": [{"topic-nm": "X", "evt-tp-list": ["dtmf", "dtmf"]}]}, "listed more than once: dtmf"),
        ({"topics": [{"topic-nm": "X", "evt-tp-list": "dtmf"}]}, "evt-tp-list"),
        ({"topics": [{"topic-nm": "X", "evt-tp-list": [], "extra": 1}]}, "extra"),
        (
            {"topics": [{"topic-nm": "X", "evt-tp-list": ["dtmf"]}, {"topic-nm": "X", "evt-tp-list": ["dtmf"]}]},
            "topic 'X' given more than once",
        ),
        ({"event-types": [{"id": "e", "fields": {}}]}, "event-types[0]: validation-type: Field required"),
        ({"event-types": [{"id": "e", "validation-type": "lenient", "fields": {}}]}, "unknown validation-type"),
        (
            {"event-types": [{"id": "e", "validation-type": "strict", "fields": {"f": FLOAT_FIELD}}]},
            "fields.f.type: unknown field type 'Float'",
        ),
        (
            {"event-types": [{"id": "e", "validation-type": "strict", "fields": {"f": STRING_MANDATORY}}]},
            "fields.f.mandatory",
        ),
        (
            {"event-types": [{"id": "e", "validation-type": "strict", "fields": {}}] * 2},
            "event type 'e' given more than once",
        ),
        ({"dictionaries": {"delivery-formats": [{"code": "CSV"}]}}, "dictionaries.delivery-formats[0]: description"),
        ({"dictionaries": {"delivery-formats": {"code": "CSV"}}}, "must be a list"),
    ],
)
def test_merged_rejects_malformed_additions(catalog, extra, message):
    with pytest.raises(ValueError) as raised:
        catalog.merged(extra)
    assert message in str(raised.value)
    assert str(raised.value).startswith("catalog additions")


def test_from_document_requires_every_part():
    with pytest.raises(ValueError, match="missing key"):
        Catalog.from_document({"topics": []})
