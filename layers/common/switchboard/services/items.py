"""The billable things Switchboard counts itself, and where each one lives.

A counted item is `(category, item)`; the audit summary's source names are the item names.
Each owning table's stream says which item a record is by its key alone, so counting needs no
read of the resource.
"""

from __future__ import annotations

from dataclasses import dataclass

COUNTED: dict[str, tuple[str, ...]] = {
    "users": ("user",),
    "accounts": ("account",),
    "ess": ("delivery_configuration", "subscription"),
    "airvantage": ("system", "alert_rule", "hook"),
}
CATEGORY_OF_ITEM = {item: category for category, items in COUNTED.items() for item in items}


@dataclass(frozen=True)
class Counted:
    """One counted resource: whose it is and what it is."""

    account_id: str
    category: str
    item: str


def _between(value: str, prefix: str) -> str | None:
    return value[len(prefix) :] if value.startswith(prefix) else None


def classify(table_kind: str, keys: dict[str, str], image: dict[str, object]) -> Counted | None:
    """The counted resource a stream record's item is, or None for any other item of the table.

    `table_kind` is which owning table the record came from (accounts, events, rules); `keys` its
    pk/sk; `image` the item (new image for inserts, old image for removals)."""
    pk, sk = keys.get("pk", ""), keys.get("sk", "")
    if table_kind == "accounts":
        if sk == "USER" and pk.startswith("USER#") and isinstance(image.get("account_id"), str):
            return Counted(str(image["account_id"]), "users", "user")
        parent = image.get("parent_id")
        if sk == "ACCOUNT" and pk.startswith("ACCOUNT#") and isinstance(parent, str) and parent:
            return Counted(parent, "accounts", "account")  # a sub-account counts for its parent
        return None
    if table_kind == "events":
        account = _between(pk, "ACCT#")
        if account is None:
            return None
        if sk.startswith("DELCFG#"):
            return Counted(account, "ess", "delivery_configuration")
        if sk.startswith("SUB#"):
            return Counted(account, "ess", "subscription")
        return None
    if table_kind == "rules":
        company = _between(pk, "CO#")
        if company is None:
            return None
        for prefix, item in (("SYS#", "system"), ("RULE#", "alert_rule"), ("HOOK#", "hook")):
            if sk.startswith(prefix):
                return Counted(company, "airvantage", item)
        return None
    raise ValueError(f"unknown owning table {table_kind}")
