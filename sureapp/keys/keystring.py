"""The only module that handles API key plaintext: generate, check, hash and mask key strings.

Format (60 characters, [A-Za-z0-9]): "sure" prefix (greppable by secret scanners)
+ 50 random base62 characters (~297 bits from `secrets`) + 6-character base62 CRC32 checksum.
The checksum lets a mistyped or random string be rejected before any database lookup.
"""
import hashlib
import secrets
import string
import zlib

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase  # base62
PREFIX = "sure"
RANDOM_LENGTH = 50
CHECKSUM_LENGTH = 6
KEY_LENGTH = len(PREFIX) + RANDOM_LENGTH + CHECKSUM_LENGTH  # 60
_ALPHABET_SET = frozenset(ALPHABET)


def _checksum(body: str) -> str:
    value = zlib.crc32(body.encode("ascii"))
    digits = []
    for _ in range(CHECKSUM_LENGTH):
        value, rem = divmod(value, 62)
        digits.append(ALPHABET[rem])
    return "".join(reversed(digits))


def generate() -> str:
    """A new key string from the OS CSPRNG."""
    body = PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return body + _checksum(body)


def is_well_formed(candidate: str) -> bool:
    """Length, alphabet, prefix and checksum: pure CPU, no database."""
    if len(candidate) != KEY_LENGTH or not candidate.startswith(PREFIX):
        return False
    if not _ALPHABET_SET.issuperset(candidate):
        return False
    body, check = candidate[:-CHECKSUM_LENGTH], candidate[-CHECKSUM_LENGTH:]
    return secrets.compare_digest(_checksum(body), check)


def digest(key: str) -> str:
    """SHA-256 hex digest: the only form in which a key is stored."""
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def display_parts(key: str) -> tuple[str, str]:
    """First 4 and last 4 characters, kept for the masked display."""
    return key[:4], key[-4:]


def mask(first4: str, last4: str) -> str:
    return f"{first4}…{last4}"
