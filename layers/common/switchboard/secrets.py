"""Secrets at rest: sealed with the template's KMS key, bound to their owner.

Each ciphertext carries an encryption context (account and purpose), so a ciphertext copied
onto another tenant's item does not decrypt. Plaintext never reaches a log.
"""

from __future__ import annotations

import base64
import secrets as random
from collections.abc import Callable
from dataclasses import dataclass, field

from switchboard import aws
from switchboard.config import SecretsSettings, load

SIGNING_SECRET_PREFIX = "whsec_"
MASK = "********"
# Signing secrets are sealed under (account, this purpose), so one ciphertext serves every holder of the
# secret in the account (an AirVantage hook and the delivery configuration its callbacks go out through).
SIGNING_SECRET_PURPOSE = "signing-secret"
# After a rotation the previous signing secret still signs deliveries for this long (Standard Webhooks:
# receivers move to the new secret while both verify).
PREVIOUS_SECRET_GRACE_MS = 24 * 3600 * 1000


def seal(plaintext: str, account_id: str, purpose: str) -> str:
    response = aws.client("kms").encrypt(
        KeyId=load(SecretsSettings).data_key_id,
        Plaintext=plaintext.encode("utf-8"),
        EncryptionContext={"account": account_id, "purpose": purpose},
    )
    return base64.b64encode(response["CiphertextBlob"]).decode("ascii")


def unseal(ciphertext: str, account_id: str, purpose: str) -> str:
    response = aws.client("kms").decrypt(
        CiphertextBlob=base64.b64decode(ciphertext),
        EncryptionContext={"account": account_id, "purpose": purpose},
    )
    return response["Plaintext"].decode("utf-8")


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes."""
    return SIGNING_SECRET_PREFIX + base64.b64encode(random.token_bytes(32)).decode("ascii")


@dataclass(frozen=True, slots=True)
class SealedSigning:
    """A holder's sealed signing secret, and the previous one with the end of its grace after a rotation."""

    sealed: str = field(repr=False)
    previous: str | None = field(default=None, repr=False)
    previous_expires_ms: int | None = None


def new_sealed_signing(account_id: str) -> tuple[str, SealedSigning]:
    """A fresh signing secret (shown once by the caller) and its sealed form."""
    secret = new_signing_secret()
    return secret, SealedSigning(seal(secret, account_id, SIGNING_SECRET_PURPOSE))


def rotated_signing(current: SealedSigning | None, account_id: str, now_ms: int) -> tuple[str, SealedSigning]:
    """A new secret; the current one (if any) keeps signing for PREVIOUS_SECRET_GRACE_MS."""
    secret, fresh = new_sealed_signing(account_id)
    if current is None:
        return secret, fresh
    return secret, SealedSigning(fresh.sealed, current.sealed, now_ms + PREVIOUS_SECRET_GRACE_MS)


def signing_keys(
    signing: SealedSigning, account_id: str, now_ms: int, unseal_with: Callable[[str, str, str], str] = unseal
) -> list[str]:
    """The secrets a delivery is signed with: the current one, and the previous during its grace period."""
    keys = [unseal_with(signing.sealed, account_id, SIGNING_SECRET_PURPOSE)]
    if signing.previous and (signing.previous_expires_ms or 0) > now_ms:
        keys.append(unseal_with(signing.previous, account_id, SIGNING_SECRET_PURPOSE))
    return keys
