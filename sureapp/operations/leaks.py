"""POST /leaked-keys: anyone (a secret scanner, a person) reports sureapp key strings found in
public; no key needed, rate limited per client IP. The answer is always the same 202: it says
nothing about whether a string was a key (the work happens in keys/leaks.py, off the request)."""
from typing import Annotated

from flask import current_app, request
from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from .. import jobs
from ..extensions import db
from ..keys import leaks
from ..schema_types import HTTP_URL_OR_EMPTY, Strict, text
from .registry import operation


def _web_address(value: str) -> str:
    if value and not value.lower().startswith(("https://", "http://")):
        raise ValueError("Give the address where the keys were found, starting with https:// "
                         "or http://.")
    return value


KeyString = Annotated[str, StringConstraints(max_length=leaks.MAX_STRING_LENGTH)]


class LeakReportIn(Strict):
    keys: list[KeyString] = Field(min_length=1, max_length=leaks.MAX_KEYS_PER_REPORT,
                                  description="The strings found (sure… keys). Strings that "
                                              "are not sureapp keys are ignored.")
    source: text(leaks.SOURCE_MAX, 1) = Field(description="Who found them, e.g. \"github\".")
    url: Annotated[text(leaks.URL_MAX), AfterValidator(_web_address)] = Field(
        default="", description="Where they were found (http or https).",
        json_schema_extra={"pattern": HTTP_URL_OR_EMPTY})


class LeakReportAccepted(BaseModel):
    status: str = "accepted"
    detail: str = ("Thank you. Every active sureapp key among these is revoked and its owners "
                   "are told. This answer is the same whether or not any string was a key.")


ACCEPTED = LeakReportAccepted()


@operation("POST", "/leaked-keys", summary="Report leaked API keys", tag="Security",
           body=LeakReportIn, response=LeakReportAccepted, status=202, public=True,
           problems=(400, 413, 415, 422, 429),
           description="No key needed. Send sureapp key strings found in public code, logs or "
                       "pastes: each active key among them is revoked and the workspace's "
                       "managers are told. Always 202 with the same body (no hint whether "
                       "anything matched); limited per client IP (LEAK_REPORT_RATE_LIMIT). "
                       "SECURITY.md gives the key pattern for secret scanners.")
def report_leaked_keys(caller: None, body: LeakReportIn):
    from ..keyauth import client_ip  # keyauth imports the registry's package: not at import
    from ..keyauth.budget import budgets, describe_limit

    limit = current_app.config["LEAK_REPORT_RATE_LIMIT"]
    budget = budgets().charge("leak-report", client_ip(request), limit)
    if budget is not None and not budget.admitted:
        raise budget.exceeded(f"This address may send {describe_limit(limit)} leak reports. "
                              "Wait for the reset and try again.")
    leaks.receive(body.keys, body.source, body.url, client_ip(request))
    db.session.commit()  # public operations are not committed by Operation.run
    jobs.wake()
    return ACCEPTED
