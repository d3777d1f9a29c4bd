"""The JSON form of an API key outside the one response that shows its string: the data of the
api_key.* webhook events. Never the key string or its digest: its first and last 4 characters."""
import uuid

from pydantic import BaseModel

from ..schema_types import UtcDatetime


class KeyOut(BaseModel):
    id: uuid.UUID
    name: str
    type: str
    abilities: list[str]
    allowed_ips: list[str]
    status: str
    masked: str  # "sure…a1B2"
    expires_at: UtcDatetime | None
    created_at: UtcDatetime

    @classmethod
    def of(cls, key) -> "KeyOut":
        return cls(id=key.id, name=key.name, type=key.key_type, abilities=key.ability_list,
                   allowed_ips=key.allowed_ip_list, status=key.status, masked=key.masked, expires_at=key.expires_at,
                   created_at=key.created_at)
