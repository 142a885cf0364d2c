from switchboard.alerts.models import Slot
from switchboard.alerts.visibility import VisibilityKey, is_visible, visibility_keys
from switchboard.tenancy import Caller

ROOT, ACCOUNT = "a" * 32, "c" * 32
USER, OTHER_USER = "1" * 32, "2" * 32


def slot(account, audience, kind="admins"):
    return Slot(account_id=account, audience=audience, key=(kind, account))


def test_admin_reads_the_whole_account_partition_plus_ancestor_descendants():
    admin = Caller(account_id=ACCOUNT, user_id=USER, priv_level="admin", ancestry=(ROOT,))
    assert visibility_keys(admin, ACCOUNT, (ROOT,)) == [
        VisibilityKey(ACCOUNT, ""),
        VisibilityKey(ROOT, "descendants#"),
    ]


def test_plain_user_reads_own_entries_and_all():
    user = Caller(account_id=ACCOUNT, user_id=USER, priv_level="user", ancestry=(ROOT,))
    keys = visibility_keys(user, ACCOUNT, (ROOT,))
    assert keys == [
        VisibilityKey(ACCOUNT, f"user#{USER}#"),
        VisibilityKey(ACCOUNT, "all#"),
        VisibilityKey(ROOT, "descendants#"),
    ]
    assert is_visible([slot(ACCOUNT, f"user#{USER}", "user")], keys)
    assert not is_visible([slot(ACCOUNT, f"user#{OTHER_USER}", "user")], keys)
    assert not is_visible([slot(ACCOUNT, "admins")], keys)
    assert is_visible([slot(ROOT, "descendants", "descendants")], keys)


def test_ancestor_admin_acting_on_sub_account_sees_like_its_admin():
    reseller_admin = Caller(account_id=ROOT, priv_level="admin")
    keys = visibility_keys(reseller_admin, ACCOUNT, (ROOT,))
    assert is_visible([slot(ACCOUNT, f"user#{USER}", "user")], keys)
    assert is_visible([slot(ACCOUNT, "admins")], keys)


def test_prefix_does_not_match_a_longer_audience():
    key = VisibilityKey(ACCOUNT, "all#")
    assert not key.covers(slot(ACCOUNT, "allx"))
    assert key.covers(slot(ACCOUNT, "all"))
