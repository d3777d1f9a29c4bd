"""API answers of subscriptions/ (the rules themselves are in confirmations.py and links.py)."""
import uuid
from typing import Literal

from pydantic import BaseModel, Field


class ConfirmationQueued(BaseModel):
    contact_id: uuid.UUID
    confirmation: Literal["queued"] = Field(
        "queued", description="The mail is sent from the background within moments; it is "
                              "retried if the mail server is unreachable.")
