"""Webhook signing secrets and Standard Webhooks signatures.

A secret is `whsec_` + base64 of 32 random bytes, shown once. The server must sign with it on
every delivery, so it cannot be stored as a digest: it is stored encrypted (sureapp/secretbox.py,
a key derived from SECRET_KEY), so a database dump alone reveals no secret. Changing SECRET_KEY
makes stored secrets unreadable: deliveries then fail with a message asking to rotate the secret.
"""
import base64
import hashlib
import hmac
import secrets

from .. import secretbox

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
_HKDF_INFO = b"sureapp webhook signing secrets v1"


class SecretUnreadable(secretbox.Unreadable):
    """A stored secret cannot be decrypted (SECRET_KEY changed since it was stored)."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def encrypt(secret: str, secret_key: str) -> str:
    return secretbox.encrypt(secret, secret_key, purpose=_HKDF_INFO)


def decrypt(token: str, secret_key: str) -> str:
    try:
        return secretbox.decrypt(token, secret_key, purpose=_HKDF_INFO)
    except secretbox.Unreadable:
        raise SecretUnreadable("The signing secret cannot be read (the server's SECRET_KEY "
                               "changed since it was created); rotate the secret.") from None


def message_id(event_id) -> str:
    """`webhook-id` of an event: unique per event, the same on every retry and endpoint."""
    return f"msg_{event_id.hex}"


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed with the secret's bytes."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode("ascii") + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(secrets_in_use: list[str], message_id: str, timestamp: int,
                     body: bytes) -> str:
    """The `webhook-signature` value: one signature per secret in use (a rotation's new and
    previous secret), space-separated, so receivers accept either while they switch."""
    return " ".join(signature(s, message_id, timestamp, body) for s in secrets_in_use)
