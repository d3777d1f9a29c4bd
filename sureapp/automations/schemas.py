"""Automation schemas, shared by the API, MCP and any UI."""
import json
import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from ..contacts.schemas import Listing
from ..schema_types import Name, Patch, Strict, UtcDatetime

AutomationTrigger = Literal["contact_created", "list_joined", "tag_added"]
AutomationStatus = Literal["active", "paused"]
MAX_STEPS = 50
MAX_STEPS_JSON = 50_000


def _bounded(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(json.dumps(steps)) > MAX_STEPS_JSON:
        raise ValueError(f"Steps may take at most {MAX_STEPS_JSON:,} characters of JSON.")
    return steps


Steps = Annotated[list[dict[str, Any]], Field(max_length=MAX_STEPS,
                                              description="Ordered steps; each an object."),
                  AfterValidator(_bounded)]


class AutomationCreate(Strict):
    """A new automation (POST) or the full replacement of one (PUT)."""

    name: Name
    trigger: AutomationTrigger
    status: AutomationStatus = "paused"
    steps: Steps = Field(default_factory=list)


class AutomationPatch(Patch):
    name: Name = None
    trigger: AutomationTrigger = None
    status: AutomationStatus = None
    steps: Steps = None


class AutomationQuery(Listing):
    status: AutomationStatus | None = None
    trigger: AutomationTrigger | None = None


class AutomationOut(BaseModel):
    id: uuid.UUID
    name: str
    trigger: AutomationTrigger
    status: AutomationStatus
    steps: list[dict[str, Any]]
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, automation) -> "AutomationOut":
        return cls(id=automation.id, name=automation.name, trigger=automation.trigger,
                   status=automation.status, steps=automation.steps or [],
                   created_at=automation.created_at, updated_at=automation.updated_at)


class AutomationPage(BaseModel):
    data: list[AutomationOut]
    next_cursor: str | None
