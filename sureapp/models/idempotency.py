"""Idempotency-Key records (sureapp/api/idempotency.py): one row per key and API key, claimed
before the request runs, holding its response for 24 hours."""
import uuid
from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import uuid_pk

IDEMPOTENCY_STATES = ("running", "done")


class IdempotentRequest(db.Model):
    __tablename__ = "idempotent_requests"
    # The claim: inserting a second row for the same (API key, Idempotency-Key) fails, on every
    # worker and host alike.
    __table_args__ = (UniqueConstraint("api_key_id", "key_digest",
                                       name="uq_idempotent_requests_key"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    api_key_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False)
    # SHA-256 of the Idempotency-Key: the value itself is never stored (it keys the body's
    # encryption, so this table alone cannot be read back).
    key_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    # SHA-256 of method, path, query and (canonical JSON) body: "the same request".
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(8), nullable=False)
    started_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    headers: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # AES-GCM (nonce + ciphertext) of the response body.
    body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
