"""Secrets at rest: sealed with the template's KMS key, bound to their owner.

Each ciphertext carries an encryption context (account and purpose), so a ciphertext copied
onto another tenant's item does not decrypt. Plaintext never reaches a log.
"""

from __future__ import annotations

import base64
import secrets as random

from switchboard import aws
from switchboard.config import SecretsSettings, load

SIGNING_SECRET_PREFIX = "whsec_"
MASK = "********"


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
