"""GET /me: who is calling."""
import uuid
from flask import g

from ..operations import operation
from ..schemas import OutModel, UtcTimestamp


class WorkspaceOut(OutModel):
    id: uuid.UUID
    name: str
    timezone: str


class MeOut(OutModel):
    """The key making the request and its workspace."""

    id: uuid.UUID
    name: str
    type: str
    abilities: list[str]
    expires_at: UtcTimestamp | None
    workspace: WorkspaceOut


def describe_key(key) -> MeOut:
    """What GET /me (and MCP's describe tool) says about a key."""
    return MeOut(id=key.id, name=key.name, type=key.key_type, abilities=key.ability_list,
                 expires_at=key.expires_at, workspace=WorkspaceOut.model_validate(key.workspace))


@operation("GET", "/me", summary="The calling key and its workspace", tag="Me", response=MeOut)
def show_me():
    return describe_key(g.api_key)
