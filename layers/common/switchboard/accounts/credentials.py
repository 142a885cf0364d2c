"""Secrets people and programs log in with: passwords, account API keys, session tokens.

Passwords are kept only as argon2id hashes (argon2-cffi, memory-hard). KAZOO clients never send
the password itself but `credentials`, the md5 (or sha1) hex of `username:password`; that digest is
what the client proves it knows, so it is what gets the argon2id hash, once per method. A login
names the account, not the user: the account's credential hashes are found through a short,
non-secret bucket (the first hex digits of the digest's SHA-256), and only the few hashes in that
bucket are verified.

Account API keys and session tokens are long random strings: a SHA-256 identifies them at rest.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from argon2 import PasswordHasher

LoginMethod = Literal["md5", "sha"]
LOGIN_METHODS: tuple[LoginMethod, ...] = ("md5", "sha")
BUCKET_HEX_DIGITS = 3  # 4096 buckets: a login checks a handful of hashes, the bucket reveals 12 bits

SESSION_PREFIX = "sbs_"
ACCOUNT_KEY_HEX_BYTES = 32  # KAZOO's account API keys are 64 hex characters


@cache
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id, RFC 9106 low-memory profile (64 MiB, t=3, p=4)


def client_digest(username: str, password: str, method: LoginMethod) -> str:
    """What a KAZOO client sends as `credentials` for this username and password."""
    material = f"{username.lower()}:{password}".encode()
    if method == "md5":
        return hashlib.md5(material, usedforsecurity=False).hexdigest()
    return hashlib.sha1(material, usedforsecurity=False).hexdigest()


def bucket(digest: str) -> str:
    return hashlib.sha256(digest.lower().encode()).hexdigest()[:BUCKET_HEX_DIGITS]


def hash_secret(secret: str) -> str:
    return _hasher().hash(secret)


def verify_secret(encoded: str, secret: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(encoded, secret)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _decoy() -> str:
    return hash_secret(secrets.token_hex(16))


def spend_like_a_verify() -> None:
    """As long as a failed verify: an unknown user costs what a wrong password costs."""
    verify_secret(_decoy(), "not the secret")


def new_session_token() -> str:
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def is_session_token(token: str) -> bool:
    return token.startswith(SESSION_PREFIX)


def new_account_key() -> str:
    return secrets.token_hex(ACCOUNT_KEY_HEX_BYTES)


def fingerprint(secret: str) -> str:
    """How a long random secret (a key, a session token) is found at rest."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
