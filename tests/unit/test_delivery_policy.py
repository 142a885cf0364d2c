import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from switchboard.delivery.policy import (
    DEFAULT_DELAYS_S,
    MAX_RETRY_AFTER_S,
    SQS_MAX_DELAY_S,
    Outcome,
    RetrySchedule,
    classify,
    parse_retry_after,
    sqs_delay_or_hold,
)

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_any_2xx_is_success(status):
    assert classify(status, None) is Outcome.SUCCESS


@pytest.mark.parametrize("error_class", ["dns", "connect", "tls", "timeout", "http"])
def test_no_response_is_retried(error_class):
    assert classify(None, error_class) is Outcome.RETRY


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504, 599])
def test_transient_statuses_are_retried(status):
    assert classify(status, "http") is Outcome.RETRY


def test_gone_fails_and_deactivates():
    assert classify(410, "http") is Outcome.FAILED_AND_DEACTIVATE


@pytest.mark.parametrize("status", [100, 301, 302, 307, 400, 401, 403, 404, 409, 413, 422])
def test_other_statuses_fail_at_once(status):
    # Redirects are not followed, so a 3xx is final.
    assert classify(status, "http") is Outcome.FAILED


def test_unknown_error_class_is_a_bug():
    with pytest.raises(ValueError):
        classify(None, "cosmic-ray")


def test_default_schedule_then_give_up():
    schedule = RetrySchedule()
    rng = random.Random(1)
    for attempt, base in enumerate(DEFAULT_DELAYS_S, start=1):
        delay = schedule.next_delay(attempt, rng, None)
        assert base * 0.8 <= delay <= base * 1.2
    assert schedule.next_delay(len(DEFAULT_DELAYS_S) + 1, rng, None) is None


def test_jitter_spreads_retries():
    delays = {RetrySchedule().next_delay(1, random.Random(seed), None) for seed in range(50)}
    assert len(delays) == 50


def test_retry_after_lengthens_but_never_shortens():
    schedule = RetrySchedule(delays_s=(100,))
    assert 80 <= schedule.next_delay(1, random.Random(0), 1) <= 120
    assert schedule.next_delay(1, random.Random(0), 500) == 500


def test_retry_after_is_capped():
    assert RetrySchedule(delays_s=(5,)).next_delay(1, random.Random(0), 10**9) == MAX_RETRY_AFTER_S


def test_retry_after_does_not_extend_the_schedule():
    assert RetrySchedule(delays_s=(5,)).next_delay(2, random.Random(0), 60) is None


def test_schedule_validation():
    with pytest.raises(ValueError):
        RetrySchedule(delays_s=(5, -1))
    with pytest.raises(ValueError):
        RetrySchedule().next_delay(0, random.Random(0), None)


@given(attempt=st.integers(1, 20), seed=st.integers(), retry_after=st.none() | st.floats(0, 10**7))
def test_delay_bounds(attempt, seed, retry_after):
    delay = RetrySchedule().next_delay(attempt, random.Random(seed), retry_after)
    if attempt > len(DEFAULT_DELAYS_S):
        assert delay is None
    else:
        assert 0 < delay <= MAX_RETRY_AFTER_S


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("99999999999999999999", float(MAX_RETRY_AFTER_S)),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        (format_datetime(NOW - timedelta(hours=1), usegmt=True), 0.0),
        ("Sun Nov 23 12:01:00 2026", 60.0),
        (None, None),
        ("", None),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("١٢", None),  # Arabic-Indic digits are str.isdigit() but not HTTP digits
    ],
)
def test_parse_retry_after(header, expected):
    assert parse_retry_after(header, NOW) == expected


@pytest.mark.parametrize(
    ("delay", "expected"), [(0, 0), (4.2, 5), (899.5, 900), (900, 900), (900.1, None), (3600, None)]
)
def test_sqs_delay_or_hold(delay, expected):
    assert sqs_delay_or_hold(delay) == expected


def test_sqs_limit():
    assert SQS_MAX_DELAY_S == 900
