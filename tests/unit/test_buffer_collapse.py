"""latest-event-only: a buffer file holds the newest event per event key, by event time, whatever
the arrival order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from switchboard.delivery.buffers import event_identity, newest_per_key, notification
from switchboard.delivery.models import Delivery
from switchboard.delivery.payload import render_file


def delivery(event_id: str, number: str | None, second: int, topic: str = "NIS-Events") -> Delivery:
    fields = {"number": number, "porting_date": "2026-01-01T00:00:00Z"} if number else {"message_id": event_id}
    return Delivery(
        account_id="a",
        event_id=event_id,
        config_id="1001",
        topic=topic,
        event_type="porting_event",
        event_timestamp=f"2026-11-23T10:{second // 60:02d}:{second % 60:02d}Z",
        fields=fields,
        created_ms=0,
        updated_ms=0,
        due_ms=0,
    )


events = st.lists(
    st.tuples(st.sampled_from(["+1", "+2", "+3", "+4"]), st.integers(min_value=0, max_value=3599)),
    min_size=0,
    max_size=40,
)


@given(events, st.randoms())
def test_the_file_is_the_newest_per_key_whatever_the_arrival_order(specs, rnd):
    deliveries = [delivery(f"e{i:03d}", number, second) for i, (number, second) in enumerate(specs)]
    expected: dict[str, Delivery] = {}
    for d in deliveries:  # the definition, written out
        best = expected.get(d.fields["number"])
        key = (d.event_timestamp, d.event_id)
        if best is None or key > (best.event_timestamp, best.event_id):
            expected[d.fields["number"]] = d
    shuffled = list(deliveries)
    rnd.shuffle(shuffled)
    chosen = newest_per_key(shuffled)
    assert {d.event_id for d in chosen} == {d.event_id for d in expected.values()}
    assert chosen == sorted(chosen, key=lambda d: (d.event_timestamp, d.event_id))
    assert newest_per_key(deliveries) == chosen


def test_events_without_key_fields_are_never_merged():
    a, b = delivery("a", None, 1), delivery("b", None, 2)
    assert event_identity(a) != event_identity(b)
    assert newest_per_key([a, b]) == [a, b]


def test_the_same_number_on_another_topic_is_another_key():
    a, b = delivery("a", "+1", 1), delivery("b", "+1", 2, topic="Other")
    assert len(newest_per_key([a, b])) == 2


def test_file_bodies_in_json_and_xml():
    chosen = [delivery("a", "+1", 1), delivery("b", "+2", 2)]
    body, headers = render_file(7, [notification(d) for d in chosen], "JSON")
    assert body.startswith(b"[{") and headers["X-ESS-EVENT-COUNT"] == "2" and headers["X-ESS-FILE-ID"] == "7"
    xml, headers = render_file(7, [notification(d) for d in chosen], "XML")
    assert xml.count(b"<event-notification>") == 2 and b'file-id="7"' in xml
    assert headers["Content-Type"] == "application/xml; charset=UTF-8"
