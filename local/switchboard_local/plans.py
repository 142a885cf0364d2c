"""`switchboard plans import --account RESELLER FILE`: a service plan into a reseller's catalog."""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from typing import Any

from switchboard.errors import DomainError, InvalidInput

from .admin import _stack_option, accounts_table, table_name


def register(subparsers: Any) -> None:
    plans = subparsers.add_parser("plans", help="KAZOO service plans of a reseller")
    plans_sub = plans.add_subparsers(dest="plans_command", required=True)
    load = plans_sub.add_parser("import", help="add a plan (a JSON plan document) to a reseller's catalog")
    load.add_argument("--account", required=True, metavar="RESELLER_ID", help="the reseller whose catalog it joins")
    load.add_argument("file", help='JSON file: {"name", "description", "category", "plan": {...}}')
    _stack_option(load)
    load.set_defaults(func=_plans_import)


def _plans_import(args: argparse.Namespace) -> int:
    from switchboard.accounts.repository import AccountsRepository
    from switchboard.services.plans import PlanCatalog, parse_plan
    from switchboard.services.repository import ServicesRepository
    from switchboard.services.service import wire

    try:
        with open(args.file, encoding="utf-8") as handle:
            document = json.load(handle, parse_float=Decimal)  # prices stay exact
    except (OSError, ValueError) as exc:
        print(json.dumps({"error": f"cannot read {args.file}: {exc}"}), file=sys.stderr)
        return 1
    if isinstance(document, dict) and isinstance(document.get("data"), dict):
        document = document["data"]  # the API's envelope is accepted too
    catalog = PlanCatalog(
        ServicesRepository(table_name(args.stack_name, "ServicesTableName"), retention_s=0),
        AccountsRepository(accounts_table(args.stack_name)),
    )
    try:
        plan = catalog.import_plan(args.account, parse_plan(document))
    except InvalidInput as exc:
        print(
            json.dumps({"error": "invalid plan", "fields": [e.dotted for e in exc.errors], "detail": str(exc)}),
            file=sys.stderr,
        )
        return 1
    except DomainError as exc:
        print(json.dumps({"error": str(exc)}), file=sys.stderr)
        return 1
    print(json.dumps(wire(plan.document())))
    return 0
