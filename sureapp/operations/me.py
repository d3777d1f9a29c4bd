"""GET /me: who is calling."""
import uuid

from pydantic import BaseModel, ConfigDict, Field

from ..keys.abilities import KEY_ITSELF
from ..schema_types import UtcDatetime
from .registry import Caller, operation


class WorkspaceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    timezone: str


class MeOut(BaseModel):
    """The key making the request and its workspace."""

    id: uuid.UUID
    name: str
    type: str
    abilities: list[str] = Field(description="read / write / delete (every resource) and "
                                             "RESOURCE:ABILITY scopes such as contacts:read.")
    allowed_ips: list[str] = Field(description="Addresses and CIDR ranges the key may be used "
                                               "from; empty: any address.")
    expires_at: UtcDatetime | None
    workspace: WorkspaceOut


@operation("GET", "/me", summary="The calling key and its workspace", tag="Me",
           resource=KEY_ITSELF, response=MeOut)
def show_me(caller: Caller):
    key = caller.key
    return MeOut(id=key.id, name=key.name, type=key.key_type, abilities=key.ability_list,
                 allowed_ips=key.allowed_ip_list, expires_at=key.expires_at,
                 workspace=WorkspaceOut.model_validate(caller.workspace))
