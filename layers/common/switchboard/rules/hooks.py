"""Alert rule hooks (seed 001, /api/v1/alerts/rules/{uid}/hooks): reading a callback, masking it, the codes.

A hook is `{"callback": "http(s)://(user:password@)host/path"}`. Credentials in the URL are allowed (the
seed says so): the password is sealed with KMS on its own and never shown again; replies show it as
`user:********@`. Codes and their `errorParameters`:

- alert.rule.unknown [rule uid] (404): no such rule in the company (the seed's code for the hook APIs; the
  rule APIs say alert.rule.unknown.id).
- notification.endpoint.missing.uri ["callback"]: no callback (absent, null or blank) (seed).
- notification.endpoint.invalid.uri ["callback", reason]: not a string, not a URL, no host, a bad port, longer
  than 2048 characters (seed). The URL itself is never echoed: it may hold a password.
- notification.endpoint.unsupported.protocol ["callback", scheme]: a scheme other than http / https (seed).
- notification.endpoint.forbidden.target ["callback", reason]: a literal loopback, private, link-local or
  metadata target, unless ALLOW_PRIVATE_TARGETS (*decision*: the SSRF policy of switchboard.netguard; names
  are checked again when resolved at delivery time).
- notification.endpoint.unknown.id [hook uid] (404): DELETE of a hook the rule does not have (*decision*).
- notification.endpoint.too.many ["20"]: a rule has at most 20 hooks (*decision*: deleting a rule deletes its
  hooks in the same transaction, which bounds them).
- invalid.parameter [field, reason]: a body that is not a JSON object, or a field other than `callback`
  (the AirVantage dialect's code for shape errors); for a rotation, any body other than none or `{}`.

Signing (*decision*, docs/rules.md): every hook has a Standard Webhooks secret (`whsec_…`), shown once as
`signingSecret` in the reply to its creation and to `POST …/hooks/{hookUid}/secret` (its rotation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from switchboard.errors import CodedError
from switchboard.netguard import MAX_URL_LENGTH, url_problem
from switchboard.secrets import MASK

MAX_HOOKS_PER_RULE = 20

UNKNOWN_RULE = "alert.rule.unknown"
MISSING_URI = "notification.endpoint.missing.uri"
INVALID_URI = "notification.endpoint.invalid.uri"
UNSUPPORTED_PROTOCOL = "notification.endpoint.unsupported.protocol"
FORBIDDEN_TARGET = "notification.endpoint.forbidden.target"
UNKNOWN_HOOK = "notification.endpoint.unknown.id"
TOO_MANY_HOOKS = "notification.endpoint.too.many"
INVALID_PARAMETER = "invalid.parameter"

FIELD = "callback"
SIGNING_SECRET_FIELD = "signingSecret"


@dataclass(frozen=True, slots=True)
class Callback:
    """A checked callback: the URL without its password (the user name kept), and the password or None."""

    url: str
    password: str | None

    def masked(self) -> str:
        """The URL as replies show it: `user:********@` where a password was given."""
        return masked(self.url, self.password is not None)


def _without_password(parts: SplitResult) -> SplitResult:
    host = parts.netloc.rpartition("@")[2]
    user = parts.netloc.rpartition("@")[0].partition(":")[0] if "@" in parts.netloc else ""
    return parts._replace(netloc=f"{user}@{host}" if user else host)


def masked(url: str, has_password: bool) -> str:
    """`url` (stored without password) with `:********` after the user name when it had a password."""
    if not has_password:
        return url
    parts = urlsplit(url)
    user, at, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}" if at else f":{MASK}@{host}"))


def with_password(url: str, password: str | None) -> str:
    """The callback to call: the stored URL with its (unsealed) password put back."""
    if password is None:
        return url
    parts = urlsplit(url)
    user, at, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}" if at else f":{password}@{host}"))


def _error(code: str, *parameters: object, status: int = 400, message: str | None = None) -> CodedError:
    return CodedError(code, [str(parameter) for parameter in parameters], status, message)


def parse_hook(data: Any, allow_private_targets: bool) -> Callback:
    """A POST body as a checked callback; CodedError with the first problem otherwise."""
    if not isinstance(data, dict):
        raise _error(INVALID_PARAMETER, "body", "the request body must be a JSON object")
    for key in data:
        if key != FIELD:
            raise _error(INVALID_PARAMETER, key, "unknown field; a hook has only a callback")
    value = data.get(FIELD)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _error(MISSING_URI, FIELD, message="the callback url is missing")
    if not isinstance(value, str):
        raise _error(INVALID_URI, FIELD, "must be a string")
    return check_callback(value.strip(), allow_private_targets)


def parse_rotation(data: Any) -> None:
    """A rotation takes no parameters: no body, or an empty JSON object."""
    if data is None or data == {}:
        return
    if not isinstance(data, dict):
        raise _error(INVALID_PARAMETER, "body", "a rotation takes no body (or an empty JSON object)")
    raise _error(INVALID_PARAMETER, next(iter(data)), "unknown field; a rotation takes no parameters")


def check_callback(value: str, allow_private_targets: bool) -> Callback:
    if len(value) > MAX_URL_LENGTH:
        raise _error(INVALID_URI, FIELD, f"must be at most {MAX_URL_LENGTH} characters")
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in value):
        raise _error(INVALID_URI, FIELD, "must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise _error(INVALID_URI, FIELD, "is not a valid URL") from None
    scheme = parts.scheme.lower()
    if not scheme or not parts.netloc:
        raise _error(INVALID_URI, FIELD, "must be an absolute URL such as https://host/path")
    if scheme not in ("http", "https"):
        raise _error(UNSUPPORTED_PROTOCOL, FIELD, scheme, message="only http and https callbacks are supported")
    if not parts.hostname:
        raise _error(INVALID_URI, FIELD, "must name a host")
    password = parts.password
    bare = urlunsplit(_without_password(parts._replace(scheme=scheme)))
    # netguard refuses credentials in a URL: judge the target on the URL without them.
    target = urlunsplit(parts._replace(scheme=scheme, netloc=parts.netloc.rpartition("@")[2]))
    problem = url_problem(target, allow_private_targets)
    if problem:
        if "must not point at" in problem:
            raise _error(FORBIDDEN_TARGET, FIELD, problem.removeprefix("must not point at "))
        raise _error(INVALID_URI, FIELD, problem)
    return Callback(url=bare, password=password)


def unknown_rule(rule_id: str) -> CodedError:
    return _error(UNKNOWN_RULE, rule_id, status=404, message=f"rule {rule_id} is unknown")


def unknown_hook(hook_uid: str) -> CodedError:
    return _error(UNKNOWN_HOOK, hook_uid, status=404, message=f"hook {hook_uid} is unknown")


def too_many_hooks() -> CodedError:
    return _error(TOO_MANY_HOOKS, MAX_HOOKS_PER_RULE, message=f"a rule has at most {MAX_HOOKS_PER_RULE} hooks")
