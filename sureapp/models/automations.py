"""Automations (SPEC §3, §11): a trigger and its steps, and one run per contact it enrolled."""
import uuid
from datetime import datetime

from sqlalchemy import (JSON, Boolean, DateTime, ForeignKey, Index, Integer, String,
                        UniqueConstraint, Uuid)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import created_at_column, updated_at_column, uuid_pk

AUTOMATION_TRIGGERS = ("contact_created", "list_joined", "tag_added")
AUTOMATION_STATUSES = ("active", "paused")
# scheduled: its next step (`step`) runs at next_at · running: claimed by a runner until
# lease_until · completed: every step done · failed: a step could not be done (last_error) ·
# exited: the contact may no longer be mailed (unsubscribed, bounced…), so the run ended there.
RUN_STATES = ("scheduled", "running", "completed", "failed", "exited")
UNFINISHED_RUN_STATES = ("scheduled", "running")


class Automation(db.Model):
    __tablename__ = "automations"

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    trigger: Mapped[str] = mapped_column(String(32), nullable=False)
    # list_joined / tag_added: only this list or tag (None: any). No foreign key: a deleted
    # list can no longer be joined, so its automation simply never triggers again.
    trigger_list_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    trigger_tag_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    # May a contact whose run has finished be enrolled again by a later trigger?
    allow_reentry: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="paused")
    steps: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class AutomationRun(db.Model):
    """One contact's way through one automation (one per entry: `entry` counts re-entries)."""

    __tablename__ = "automation_runs"
    __table_args__ = (
        UniqueConstraint("automation_id", "contact_id", "entry"),
        Index("ix_automation_runs_due", "state", "next_at"),
        Index("ix_automation_runs_progress", "automation_id", "state", "step"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, index=True
    )
    automation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("automations.id", ondelete="CASCADE"), nullable=False
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    entry: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    step: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # the next step to run
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="scheduled")
    next_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    runner_id: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # at this step
    # The send_email step whose mail was handed to SMTP and not yet recorded: after a crash
    # it may have been sent, so it is never sent again.
    sending_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    # The automations whose steps led to this enrolment (the loop guard, automations/runs.py).
    chain: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
