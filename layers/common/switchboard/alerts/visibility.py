"""Who sees which alert, as pure functions (reference/kazoo.md, "visibility rule").

Every recipient of an alert is stored as one entry in a partition of one account, under an
audience: `admins`, `resellers`, `all`, `descendants` or `user#{id}`. A caller looking through
an account gets a short list of visibility keys (account partition + sort-key prefix); each
is one DynamoDB query, and an alert is visible when one of its entries falls under one.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchboard.alerts.models import Slot
from switchboard.tenancy import Caller


@dataclass(frozen=True)
class VisibilityKey:
    account_id: str
    prefix: str  # "" is the whole partition

    def covers(self, slot: Slot) -> bool:
        return slot.account_id == self.account_id and f"{slot.audience}#".startswith(self.prefix)


def visibility_keys(caller: Caller, account_id: str, account_ancestry: tuple[str, ...]) -> list[VisibilityKey]:
    """Keys for `caller` looking at alerts through `account_id` (which they may act on)."""
    if caller.is_admin_of(account_id, account_ancestry):
        # Admins (and admins of ancestors, acting on a sub-account) see every entry of the account:
        # its admins, its resellers' audience, `all`, and every one of its users.
        keys = [VisibilityKey(account_id, "")]
    else:
        keys = [VisibilityKey(account_id, f"user#{caller.user_id}#"), VisibilityKey(account_id, "all#")]
    # `descendants` alerts of any ancestor reach every user of this account.
    keys.extend(VisibilityKey(ancestor, "descendants#") for ancestor in account_ancestry)
    return keys


def is_visible(slots: list[Slot], keys: list[VisibilityKey]) -> bool:
    return any(key.covers(slot) for slot in slots for key in keys)
