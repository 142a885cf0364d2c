"""Operator commands of the `switchboard` CLI: accounts (and their features) and tokens.

They talk to DynamoDB through the usual AWS environment: AWS_ENDPOINT_URL for the local
runtime, real credentials for a deployed stack. Table names come from the stack's outputs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from switchboard.accounts.models import FEATURES
from switchboard.accounts.repository import AccountsRepository
from switchboard.accounts.service import AccountService
from switchboard.errors import DomainError


def register(subparsers: Any) -> None:
    accounts = subparsers.add_parser("accounts", help="manage accounts")
    accounts_sub = accounts.add_subparsers(dest="accounts_command", required=True)
    create = accounts_sub.add_parser("create", help="create an account, its first admin user and a token")
    create.add_argument("--name", required=True)
    create.add_argument("--parent", metavar="ACCOUNT_ID", help="parent (reseller) account")
    create.add_argument("--reseller", action="store_true", help="the account resells to sub-accounts")
    create.add_argument("--operator", action="store_true", help="the token may act on every account")
    _stack_option(create)
    create.set_defaults(func=_accounts_create)
    features = accounts_sub.add_parser("features", help="enable or disable a feature of an account")
    features.add_argument("account", metavar="ACCOUNT_ID")
    switch = features.add_mutually_exclusive_group(required=True)
    switch.add_argument("--enable", metavar="FEATURE", choices=FEATURES, help=f"one of: {', '.join(FEATURES)}")
    switch.add_argument("--disable", metavar="FEATURE", choices=FEATURES, help=f"one of: {', '.join(FEATURES)}")
    _stack_option(features)
    features.set_defaults(func=_accounts_features)

    tokens = subparsers.add_parser("tokens", help="manage API tokens")
    tokens_sub = tokens.add_subparsers(dest="tokens_command", required=True)
    issue = tokens_sub.add_parser("create", help="issue a token (for a new user unless --user is given)")
    issue.add_argument("--account", required=True, metavar="ACCOUNT_ID")
    who = issue.add_mutually_exclusive_group()
    who.add_argument("--user", metavar="USER_ID", help="an existing user of the account")
    who.add_argument("--admin", action="store_true", help="the new user is an account admin")
    issue.add_argument("--operator", action="store_true", help="the token may act on every account")
    _stack_option(issue)
    issue.set_defaults(func=_tokens_create)
    revoke = tokens_sub.add_parser("revoke", help="revoke a token: refused everywhere within seconds")
    revoke.add_argument("key", metavar="KEY|KEY_ID", help="the token itself, or the key_id `tokens create` printed")
    _stack_option(revoke)
    revoke.set_defaults(func=_tokens_revoke)

    users = subparsers.add_parser("users", help="manage users who log in with a username and password")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    password = users_sub.add_parser(
        "set-password", help="give a user (a new one unless --user is given) a username and password"
    )
    password.add_argument("--account", required=True, metavar="ACCOUNT_ID")
    password.add_argument("--username", required=True)
    password.add_argument(
        "--password", help="the password (default: read from the SWITCHBOARD_PASSWORD variable, else stdin)"
    )
    target = password.add_mutually_exclusive_group()
    target.add_argument("--user", metavar="USER_ID", help="an existing user of the account")
    target.add_argument("--admin", action="store_true", help="the new user is an account admin")
    _stack_option(password)
    password.set_defaults(func=_users_set_password)

    clients = subparsers.add_parser("oauth-clients", help="OAuth 2 API clients (AirVantage /api/oauth/token)")
    clients_sub = clients.add_subparsers(dest="clients_command", required=True)
    register_client = clients_sub.add_parser("create", help="register an API client of the account (secret shown once)")
    register_client.add_argument("--account", required=True, metavar="ACCOUNT_ID")
    _stack_option(register_client)
    register_client.set_defaults(func=_oauth_clients_create)

    catalog = subparsers.add_parser("catalog", help="the ESS catalog of topics and event types")
    catalog_sub = catalog.add_subparsers(dest="catalog_command", required=True)
    load = catalog_sub.add_parser("import", help="add topics and event types (catalog.json shape) to the shipped ones")
    load.add_argument("file", help="JSON file with any of: topics, event-types, dictionaries")
    _stack_option(load)
    load.set_defaults(func=_catalog_import)


def _stack_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack-name",
        help="CloudFormation stack whose tables to use "
        "(default: the local runtime's when AWS_ENDPOINT_URL is set, else samconfig's)",
    )


def table_name(stack_name: str | None, output: str) -> str:
    from switchboard_local.stack import default_stack_name, stack_outputs

    return stack_outputs(stack_name or default_stack_name())[output]


def accounts_table(stack_name: str | None) -> str:
    return table_name(stack_name, "AccountsTableName")


def _service(args: argparse.Namespace) -> AccountService:
    return AccountService(AccountsRepository(accounts_table(args.stack_name)))


def _print(result: Any) -> int:
    print(json.dumps(result.model_dump()))
    return 0


def _fail(exc: DomainError) -> int:
    print(json.dumps({"error": str(exc)}), file=sys.stderr)
    return 1


def _accounts_create(args: argparse.Namespace) -> int:
    try:
        return _print(_service(args).create_account(args.name, args.parent, args.reseller, args.operator))
    except DomainError as exc:
        return _fail(exc)


def _accounts_features(args: argparse.Namespace) -> int:
    feature, enabled = (args.enable, True) if args.enable else (args.disable, False)
    try:
        account = _service(args).set_feature(args.account, feature, enabled)
    except DomainError as exc:
        return _fail(exc)
    print(json.dumps({"account_id": account.id, "features": sorted(account.features)}))
    return 0


def _tokens_create(args: argparse.Namespace) -> int:
    try:
        return _print(_service(args).issue_token(args.account, args.user, args.admin, args.operator))
    except DomainError as exc:
        return _fail(exc)


def _tokens_revoke(args: argparse.Namespace) -> int:
    try:
        key = _service(args).revoke(args.key)
    except DomainError as exc:
        return _fail(exc)
    print(json.dumps({"revoked": key.key_id, "account_id": key.account_id, "user_id": key.user_id}))
    return 0


def _login_service(table: str) -> Any:
    from switchboard import clock
    from switchboard.accounts.login_repository import LoginRepository
    from switchboard.accounts.logins import LoginPolicy, LoginService
    from switchboard.config import LoginSettings

    settings = LoginSettings()
    return LoginService(
        AccountsRepository(table),
        LoginRepository(table),
        LoginPolicy(
            session_ttl_s=settings.session_ttl_s,
            refresh_ttl_s=settings.refresh_ttl_s,
            failure_window_s=settings.failure_window_s,
            max_failures_per_account=settings.max_failures_per_account,
            max_failures_per_source=settings.max_failures_per_source,
        ),
        clock.now_ms,
    )


def _oauth_clients_create(args: argparse.Namespace) -> int:
    from switchboard.accounts.login_repository import OAuthRepository
    from switchboard.accounts.logins import OAuthService

    table = accounts_table(args.stack_name)
    service = OAuthService(_login_service(table), AccountsRepository(table), OAuthRepository(table))
    try:
        return _print(service.register_client(args.account))
    except DomainError as exc:
        return _fail(exc)


def _users_set_password(args: argparse.Namespace) -> int:
    import os

    secret = args.password or os.environ.get("SWITCHBOARD_PASSWORD") or sys.stdin.readline().rstrip("\n")
    service = _login_service(accounts_table(args.stack_name))
    try:
        user = service.set_password(args.account, args.username, secret, args.user, args.admin)
    except DomainError as exc:
        return _fail(exc)
    print(json.dumps({"account_id": user.account_id, "user_id": user.id, "username": args.username.strip().lower()}))
    return 0


def _catalog_import(args: argparse.Namespace) -> int:
    from switchboard.events.catalog_provider import CatalogProvider
    from switchboard.events.repository import EventsRepository

    try:
        with open(args.file, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, json.JSONDecodeError) as exc:
        print(json.dumps({"error": f"cannot read {args.file}: {exc}"}), file=sys.stderr)
        return 1
    provider = CatalogProvider(EventsRepository(table_name(args.stack_name, "EventsTableName")))
    try:
        catalog = provider.import_additions(document)
    except DomainError as exc:
        return _fail(exc)
    print(json.dumps({"topics": len(catalog.topics), "event-types": len(catalog.event_types)}))
    return 0


def create_demo_account(accounts_table_name: str) -> dict[str, Any]:
    """The operator account `switchboard local` creates on start."""
    service = AccountService(AccountsRepository(accounts_table_name))
    return service.create_account("Demo Operator", is_reseller=True, operator=True).model_dump()
