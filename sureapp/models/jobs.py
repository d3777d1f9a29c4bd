"""Background jobs (sureapp/jobs.py runs them): one row per job, so state and progress survive a
restart and every worker sees them."""
import uuid
from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import created_at_column

# draft: being prepared by its owner (e.g. a CSV upload being mapped), not runnable yet.
# queued → running (claimed by one runner) → done | failed | interrupted (its runner died).
JOB_STATES = ("draft", "queued", "running", "done", "failed", "interrupted")
FINISHED_STATES = ("done", "failed", "interrupted")


class Job(db.Model):
    __tablename__ = "jobs"
    __table_args__ = (
        # The sweep looks for running jobs whose runner died and for expired ones.
        Index("ix_jobs_state_created", "state", "created_at"),
    )

    # 32 hex characters (secrets.token_hex): unguessable, and the id the pages' URLs carry.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # Who started it (None for the CLI); only they see its pages.
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")
    title: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    # What to do (kind-specific, plain JSON values) and how far it got / what came out.
    params: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    progress: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    result: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    # A large input (an uploaded file) and a large output (an error report), kept out of JSON.
    input_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    output_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # "host:pid:token" of the process running it, and when it last said it was alive.
    runner_id: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES
