"""Schemas shared by every API resource: timestamps, problem documents, pagination."""
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from ..timeutil import iso_utc

# Stored naive UTC, sent as ISO 8601 with a Z.
UtcTimestamp = Annotated[datetime, PlainSerializer(iso_utc, return_type=str, when_used="json")]


class OutModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Problem(BaseModel):
    """RFC 9457 problem details; `errors` lists validation messages per field."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(examples=["about:blank"])
    title: str
    status: int
    detail: str | None = None
    errors: dict[str, list[str]] | None = None
