"""The API's own document schema: RFC 9457 problem details (resource schemas live with their
features and are named by the operations in sureapp/operations)."""
from pydantic import BaseModel, ConfigDict, Field


class Problem(BaseModel):
    """RFC 9457 problem details; `errors` lists validation messages per field."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(examples=["about:blank"])
    title: str
    status: int
    detail: str | None = None
    errors: dict[str, list[str]] | None = None
    request_id: str = Field(description="This response's X-Request-Id: quote it when reporting "
                                        "a problem.")
