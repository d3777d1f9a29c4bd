"""SMTP connection schemas: what the Settings → Sending form and the read-only API share."""
import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from ..config import MAX_MAILS_PER_MINUTE
from ..schema_types import Name, Strict, UtcDatetime, normalize_email, text

TlsMode = Literal["starttls", "tls", "none"]
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
MAX_SENDERS = 50


def _sender(value: str) -> str:
    """A full address, or "@domain" for any address of that domain (lower case)."""
    value = value.strip()
    if value.startswith("@"):
        return "@" + normalize_email("x" + value).partition("@")[2]
    return normalize_email(value)


Sender = Annotated[str, AfterValidator(_sender), Field(max_length=254)]


class SmtpConnectionIn(Strict):
    """A connection as the form sends it; `password` None (or blank) keeps the stored one."""

    name: Name
    host: text(255, 1)
    port: int = Field(ge=1, le=65535)
    tls_mode: TlsMode = "starttls"
    username: text(255) = ""
    password: text(1024) | None = None
    from_addresses: list[Sender] = Field(min_length=1, max_length=MAX_SENDERS)
    mails_per_minute: int = Field(60, ge=1, le=MAX_MAILS_PER_MINUTE)


class SmtpConnectionOut(BaseModel):
    """A connection without its password (which is never shown again)."""

    id: uuid.UUID
    name: str
    host: str
    port: int
    tls_mode: TlsMode
    username: str
    has_password: bool
    from_addresses: list[str] = Field(description='Addresses it may send as; "@example.com" '
                                                  "allows any address of the domain.")
    mails_per_minute: int
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, connection) -> "SmtpConnectionOut":
        return cls(id=connection.id, name=connection.name, host=connection.host,
                   port=connection.port, tls_mode=connection.tls_mode,
                   username=connection.username,
                   has_password=connection.password_encrypted is not None,
                   from_addresses=list(connection.from_addresses),
                   mails_per_minute=connection.mails_per_minute,
                   created_at=connection.created_at, updated_at=connection.updated_at)


class SmtpConnectionList(BaseModel):
    data: list[SmtpConnectionOut]
