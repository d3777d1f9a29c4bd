"""Secrets the server must read back (webhook signing secrets, SMTP passwords), encrypted at
rest: Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from SECRET_KEY by HKDF, one key per
purpose, so a database dump alone reveals none of them. Changing SECRET_KEY makes them
unreadable (`Unreadable`): the owner of each secret says how to enter it again."""
import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import DomainError


class Unreadable(DomainError):
    """A stored secret cannot be decrypted (SECRET_KEY changed since it was stored)."""


def _fernet(secret_key: str, purpose: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=purpose).derive(secret_key.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret: str, secret_key: str, *, purpose: bytes) -> str:
    return _fernet(secret_key, purpose).encrypt(secret.encode("utf-8")).decode("ascii")


def decrypt(token: str, secret_key: str, *, purpose: bytes) -> str:
    try:
        return _fernet(secret_key, purpose).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        raise Unreadable("The stored secret cannot be read: the server's SECRET_KEY changed "
                         "since it was saved.") from None
