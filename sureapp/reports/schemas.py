"""The workspace summary report."""
import datetime
import uuid

from pydantic import BaseModel, Field


class GroupSize(BaseModel):
    id: uuid.UUID
    name: str
    member_count: int


class TagSize(GroupSize):
    slug: str


class DayCount(BaseModel):
    date: datetime.date = Field(description="A day in the workspace timezone.")
    count: int


class ReportSummary(BaseModel):
    timezone: str = Field(description="The workspace timezone the days are counted in.")
    total_contacts: int
    contacts_by_status: dict[str, int]
    lists: list[GroupSize]
    tags: list[TagSize]
    campaigns_by_status: dict[str, int]
    contacts_created_per_day: list[DayCount] = Field(description="The last 30 days, oldest first, "
                                                                 "today included.")
