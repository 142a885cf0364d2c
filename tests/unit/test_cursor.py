import pytest
from hypothesis import given
from hypothesis import strategies as st
from switchboard.errors import InvalidInput
from switchboard.store import cursor


@given(st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), st.text(), st.none()), max_size=4))
def test_round_trip(position):
    assert cursor.decode(cursor.encode(position)) == position


@pytest.mark.parametrize("token", ["", "not base64!", "WzEsMl0", "bnVsbA"])  # "", junk, [1,2], null
def test_garbage_is_invalid_input(token):
    with pytest.raises(InvalidInput) as caught:
        cursor.decode(token)
    assert caught.value.errors[0].dotted == "start_key"
