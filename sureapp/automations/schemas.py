"""Automation schemas, shared by the API, MCP and the UI: the automation and each kind of step."""
import uuid
from datetime import timedelta
from typing import Annotated, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, model_validator

from ..contacts.schemas import Listing
from ..schema_types import (NOT_BLANK_ONE_LINE, Name, Patch, Strict, UtcDatetime,
                            drop_null_defaults, text)

AutomationTrigger = Literal["contact_created", "list_joined", "tag_added"]
AutomationStatus = Literal["active", "paused"]
RunState = Literal["scheduled", "running", "completed", "failed", "exited"]
MAX_STEPS = 50
WAIT_UNITS = {"minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}
MAX_WAIT = timedelta(days=366)
# The longest wait per unit that stays within MAX_WAIT (minutes: the field's own bound).
MAX_WAIT_AMOUNT = {"minutes": 525_600, "hours": 8_784, "days": 366, "weeks": 52}
TRIGGER_LABELS = {"contact_created": "A contact is created", "list_joined": "A contact joins a list",
                  "tag_added": "A tag is added to a contact"}
STEP_LABELS = {"send_email": "Send an email", "wait": "Wait", "add_tag": "Add a tag",
               "remove_tag": "Remove a tag", "add_to_list": "Add to a list",
               "remove_from_list": "Remove from a list"}


def _one_line(value):
    """Before trimming, so a trailing line break is refused as the document says."""
    if isinstance(value, str) and ("\r" in value or "\n" in value):
        raise ValueError("The subject must be one line.")
    return value


class SendEmailStep(Strict):
    """Mail the contact: subject and plain-text body take merge tags ({{ first_name }},
    {{ preferences_url }}…) and spintax ({Hi|Hello}); the unsubscribe link and List-Unsubscribe
    headers are added."""

    type: Literal["send_email"]
    subject: Annotated[text(255, 1), BeforeValidator(_one_line),
                       Field(json_schema_extra={"pattern": NOT_BLANK_ONE_LINE})]
    body: text(100_000, 1)


def _wait_limits_schema() -> dict:
    """The per-unit maximum in the document (JSON Schema if/then), so a generated client knows
    that 400 days is too long without asking."""
    return {"allOf": [{"if": {"properties": {"unit": {"const": unit}}, "required": ["unit"]},
                       "then": {"properties": {"amount": {"maximum": limit}}}}
                      for unit, limit in MAX_WAIT_AMOUNT.items()]}


class WaitStep(Strict):
    """Wait before the next step: at most 366 days (525,600 minutes, 8,784 hours, 366 days or
    52 weeks)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_wait_limits_schema())

    type: Literal["wait"]
    amount: int = Field(ge=1, le=MAX_WAIT_AMOUNT["minutes"], description="How many units to wait.")
    unit: Literal["minutes", "hours", "days", "weeks"]

    @model_validator(mode="after")
    def _at_most_a_year(self):
        if self.amount > MAX_WAIT_AMOUNT[self.unit]:
            raise ValueError(f"A wait may last at most {MAX_WAIT.days} days "
                             f"({MAX_WAIT_AMOUNT[self.unit]:,} {self.unit}).")
        return self

    @property
    def duration(self) -> timedelta:
        return timedelta(seconds=self.amount * WAIT_UNITS[self.unit])


class TagStep(Strict):
    """Add the tag to the contact, or remove it."""

    type: Literal["add_tag", "remove_tag"]
    tag_id: uuid.UUID


class ListStep(Strict):
    """Add the contact to the list, or remove them from it."""

    type: Literal["add_to_list", "remove_from_list"]
    list_id: uuid.UUID


Step = Annotated[Union[SendEmailStep, WaitStep, TagStep, ListStep], Field(discriminator="type")]
Steps = Annotated[list[Step], Field(max_length=MAX_STEPS, description="Ordered steps.")]


# A trigger filter belongs to its trigger: sent beside another trigger it is refused (422), so
# the document says it too. (A filter sent alone is checked against the stored trigger: 409.)
TRIGGER_FILTER_RULES = {"allOf": [
    {"if": {"properties": {"trigger": {"not": {"const": trigger}}}, "required": ["trigger"]},
     "then": {"properties": {field: {"type": "null"}}}}
    for field, trigger in (("trigger_list_id", "list_joined"), ("trigger_tag_id", "tag_added"))]}


def _patch_schema(schema: dict, model) -> None:
    drop_null_defaults(schema, model)
    schema.update(TRIGGER_FILTER_RULES)


class AutomationCreate(Strict):
    """A new automation (POST) or the full replacement of one (PUT)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=TRIGGER_FILTER_RULES)

    name: Name
    trigger: AutomationTrigger
    trigger_list_id: uuid.UUID | None = Field(
        None, description="list_joined only: the list to watch (null: any list).")
    trigger_tag_id: uuid.UUID | None = Field(
        None, description="tag_added only: the tag to watch (null: any tag).")
    allow_reentry: StrictBool = Field(
        False, description="Enrol a contact again when the trigger fires after their previous "
                           "run finished (never while one is in progress).")
    status: AutomationStatus = "paused"
    steps: Steps = Field(default_factory=list)


class AutomationPatch(Patch):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_patch_schema)

    name: Name = None
    trigger: AutomationTrigger = None
    trigger_list_id: uuid.UUID | None = None
    trigger_tag_id: uuid.UUID | None = None
    allow_reentry: StrictBool = None
    status: AutomationStatus = None
    steps: Steps = None


class AutomationQuery(Listing):
    status: AutomationStatus | None = None
    trigger: AutomationTrigger | None = None


class StepProgress(BaseModel):
    index: int
    type: str
    in_progress: int = Field(description="Runs whose next step is this one (waiting or due).")
    failed: int = Field(description="Runs that failed at this step.")
    exited: int = Field(description="Runs that ended at this step (the contact may not be mailed).")


class AutomationProgress(BaseModel):
    enrolled: int
    in_progress: int
    completed: int
    failed: int
    exited: int
    steps: list[StepProgress]


class AutomationOut(BaseModel):
    id: uuid.UUID
    name: str
    trigger: AutomationTrigger
    trigger_list_id: uuid.UUID | None
    trigger_tag_id: uuid.UUID | None
    allow_reentry: bool
    status: AutomationStatus
    steps: list[dict]
    progress: AutomationProgress
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, automation, progress: AutomationProgress) -> "AutomationOut":
        return cls(id=automation.id, name=automation.name, trigger=automation.trigger,
                   trigger_list_id=automation.trigger_list_id,
                   trigger_tag_id=automation.trigger_tag_id,
                   allow_reentry=automation.allow_reentry, status=automation.status,
                   steps=automation.steps or [], progress=progress,
                   created_at=automation.created_at, updated_at=automation.updated_at)


class AutomationPage(BaseModel):
    data: list[AutomationOut]
    next_cursor: str | None


class RunQuery(Listing):
    state: RunState | None = None


class RunOut(BaseModel):
    id: uuid.UUID
    contact_id: uuid.UUID
    entry: int
    step: int = Field(description="Index of the next step to run (= the number of steps once "
                                  "completed).")
    state: RunState
    next_at: UtcDatetime | None
    attempts: int
    last_error: str
    created_at: UtcDatetime
    updated_at: UtcDatetime
    finished_at: UtcDatetime | None

    @classmethod
    def of(cls, run) -> "RunOut":
        return cls(id=run.id, contact_id=run.contact_id, entry=run.entry, step=run.step,
                   state=run.state, next_at=run.next_at, attempts=run.attempts,
                   last_error=run.last_error, created_at=run.created_at,
                   updated_at=run.updated_at, finished_at=run.finished_at)


class RunPage(BaseModel):
    data: list[RunOut]
    next_cursor: str | None
