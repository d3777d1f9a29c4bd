"""Webhooks (issue 15): endpoints a workspace registers, the outbox of events its changes emit,
and one delivery per (event, endpoint) that the delivery worker claims, sends and retries."""
import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import created_at_column, updated_at_column, uuid_pk

# pending: waiting for its next attempt (next_attempt_at) · sending: claimed by a worker until
# lease_until · succeeded · failed: every retry used up, or its endpoint gone/disabled.
DELIVERY_STATES = ("pending", "sending", "succeeded", "failed")


class WebhookEndpoint(db.Model):
    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, index=True
    )
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    # Event types it receives, e.g. ["contact.created"]; ["*"] means every type.
    events: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    description: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # Why it was switched off by the system ("" when a person did it or it is enabled).
    disabled_reason: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    # The signing secret, encrypted with a key derived from SECRET_KEY (webhooks/secrets.py):
    # the server must sign with it, so it is recoverable by the server and by no one reading
    # the database. During a rotation the previous one signs too, until previous_secret_expires_at.
    secret_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Start of the current run of failed attempts (None after a success): 5 days → disabled.
    failing_since: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    def previous_secret_signs_at(self, now: datetime) -> bool:
        """Is a rotation's previous secret still signing deliveries (its 24 h overlap)?"""
        return (self.previous_secret_encrypted is not None
                and self.previous_secret_expires_at is not None
                and self.previous_secret_expires_at > now)


class WebhookEvent(db.Model):
    """The outbox: one row per emitted event, written in the transaction of the change."""

    __tablename__ = "webhook_events"

    # Sent as `webhook-id` ("msg_" + hex): the same on every retry, so receivers can dedupe.
    id: Mapped[uuid.UUID] = uuid_pk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False, index=True
    )
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    # The delivered body's `data`: the API's JSON for the object.
    data: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = created_at_column()


class WebhookDelivery(db.Model):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The worker's claim: due pending deliveries, and expired leases of dead senders.
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        # An endpoint's delivery log, newest first.
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # A claimed delivery belongs to its sender until then; past it another worker may retry it
    # (the sender died mid-request), which is why receivers dedupe on webhook-id.
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # "host:pid:token" of the process that made the last attempt (jobs.runner_id).
    sent_by: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # What went wrong on the last attempt, in words ("timed out after 10 s", "HTTP 500").
    error: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    created_at: Mapped[datetime] = created_at_column()

    event = relationship("WebhookEvent", lazy="joined")
    endpoint = relationship("WebhookEndpoint")
