import pytest
from switchboard.tenancy import Caller

ROOT, RESELLER, CHILD, SIBLING = "a" * 32, "b" * 32, "c" * 32, "d" * 32
CHILD_ANCESTRY = (ROOT, RESELLER)


def test_admin_acts_on_own_account_and_descendants_only():
    admin = Caller(account_id=RESELLER, priv_level="admin", ancestry=(ROOT,))
    assert admin.can_act_on(RESELLER, (ROOT,))
    assert admin.can_act_on(CHILD, CHILD_ANCESTRY)
    assert not admin.can_act_on(ROOT, ())  # never an ancestor
    assert not admin.can_act_on(SIBLING, (ROOT,))  # never a sibling


def test_plain_user_stays_in_own_account():
    user = Caller(account_id=RESELLER, user_id="u" * 32, priv_level="user", ancestry=(ROOT,))
    assert user.can_act_on(RESELLER, (ROOT,))
    assert not user.can_act_on(CHILD, CHILD_ANCESTRY)
    assert not user.is_admin_of(RESELLER, (ROOT,))


def test_operator_acts_everywhere():
    operator = Caller(account_id=SIBLING, priv_level="admin", scopes=frozenset({"operator"}))
    assert operator.can_act_on(CHILD, CHILD_ANCESTRY)
    assert operator.is_admin_of(CHILD, CHILD_ANCESTRY)


def test_ancestor_admin_is_admin_of_descendant():
    admin = Caller(account_id=ROOT, priv_level="admin")
    assert admin.is_admin_of(CHILD, CHILD_ANCESTRY)


@pytest.mark.parametrize(
    "caller",
    [
        Caller(account_id=CHILD, user_id="u" * 32, priv_level="user", ancestry=CHILD_ANCESTRY),
        Caller(account_id=ROOT, priv_level="admin", scopes=frozenset({"operator", "x"}), ancestry=()),
    ],
)
def test_context_round_trip(caller):
    assert Caller.from_context(caller.to_context()) == caller
