"""GET /me: who is calling."""
import uuid

from pydantic import BaseModel, ConfigDict

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
    abilities: list[str]
    expires_at: UtcDatetime | None
    workspace: WorkspaceOut


@operation("GET", "/me", summary="The calling key and its workspace", tag="Me", response=MeOut)
def show_me(caller: Caller):
    key = caller.key
    return MeOut(id=key.id, name=key.name, type=key.key_type, abilities=key.ability_list,
                 expires_at=key.expires_at, workspace=WorkspaceOut.model_validate(caller.workspace))
