"""GET /me: who is calling."""
import uuid
from datetime import datetime

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


@operation("GET", "/me", summary="The calling key and its workspace", tag="Me", response=MeOut)
def show_me():
    key = g.api_key
    return MeOut(id=key.id, name=key.name, type=key.key_type, abilities=key.ability_list,
                 expires_at=key.expires_at, workspace=WorkspaceOut.model_validate(g.workspace))
