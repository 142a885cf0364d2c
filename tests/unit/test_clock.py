from hypothesis import given
from hypothesis import strategies as st
from switchboard import clock


def test_gregorian_epoch_offset_matches_kazoo():
    # Given the Unix epoch / When converted / Then it is KAZOO's 62167219200
    assert clock.gregorian_from_ms(0) == 62_167_219_200


def test_known_date():
    # 2019-12-09T19:44:55Z, a timestamp from the KAZOO docs
    unix = 1_575_920_695
    assert clock.gregorian_from_ms(unix * 1000) == 63_743_139_895
    assert clock.iso_from_ms(unix * 1000) == "2019-12-09T19:44:55Z"


@given(st.integers(min_value=0, max_value=2**40))
def test_gregorian_round_trip(seconds):
    assert clock.gregorian_from_ms(clock.ms_from_gregorian(seconds + clock.GREGORIAN_UNIX_OFFSET)) == (
        seconds + clock.GREGORIAN_UNIX_OFFSET
    )
