"""CSV import: upload → column mapping → preview and dry run → import with progress → error report.

An upload is a draft job (sureapp/jobs.py) of one user in one workspace: the decoded file is the
job's input, the mapping its params, so every worker sees it and nothing lives in the session.
Reading and mapping the file is csv_mapping.py; this module is the dry run and the import loop.

Each batch of rows is upserted by email through the contacts services (same validation, email
normalization, allocation and timeline as the API) and committed with the progress it reached
(a stepwise job). An import is an idempotent upsert, so a batch that fails, or a restart mid-way,
leaves the file safe to import again: the rows already saved are updated, not duplicated, and the
page says how far it got.
"""
import csv
import io
import os
from dataclasses import dataclass, field

from sqlalchemy import select

from .. import jobs
from ..errors import DomainError
from ..extensions import db
from ..models import Contact, Job, Workspace
from . import services
from .csv_export import escape_cell
from .csv_mapping import (MAX_UPLOAD_BYTES, decode_upload, describe_errors, guess_mapping,
                          read_table, sniff_dialect, validate_rows)

BATCH_SIZE = 500


@dataclass
class RowResult:
    row: int  # spreadsheet row number (the header is row 1)
    email: str
    outcome: str  # "create", "update" or "error"
    message: str = ""


@dataclass
class DryRun:
    creates: int = 0
    updates: int = 0
    errors: list[RowResult] = field(default_factory=list)
    allocation_error: str = ""

    @property
    def can_import(self) -> bool:
        return not self.allocation_error and (self.creates + self.updates) > 0


# ---- the upload (a draft job) -----------------------------------------------------------------

def create_job(workspace: Workspace, user_id, filename: str, data: bytes,
               max_bytes: int | None = MAX_UPLOAD_BYTES) -> Job:
    """Validate and store an upload as a draft import (the caller commits); raises UploadError
    with a message for the user."""
    text = decode_upload(data, max_bytes)
    delimiter = sniff_dialect(text)
    headers, rows = read_table(text, delimiter)
    name = os.path.basename(filename or "upload.csv")[:200]
    return jobs.create(IMPORT, workspace.id, user_id, title=f"Import {name}", draft=True,
                       input_text=text, params={
                           "filename": name, "delimiter": delimiter, "headers": headers,
                           "row_count": len(rows), "mapping": guess_mapping(headers),
                       })


def load_job(job_id: str, workspace: Workspace, user_id) -> Job | None:
    """The import if it exists and belongs to this user in this workspace, else None."""
    return jobs.get(job_id, kind=IMPORT, workspace_id=workspace.id, user_id=user_id)


def table(job: Job) -> tuple[list[str], list[list[str]]]:
    """The upload's header and rows (only while it is a draft: the file is dropped once imported)."""
    return read_table(job.input_text or "", job.params["delimiter"])


def set_mapping(job: Job, mapping: list[str]) -> None:
    job.params = {**job.params, "mapping": list(mapping)}


def validated_rows(job: Job):
    headers, rows = table(job)
    return validate_rows(headers, rows, job.params["mapping"])


def _existing_emails(workspace: Workspace, emails: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(emails), 500):
        found.update(db.session.scalars(select(Contact.email).where(
            Contact.workspace_id == workspace.id, Contact.email.in_(emails[start:start + 500]))))
    return found


def dry_run(workspace: Workspace, job: Job) -> DryRun:
    """Counts of creates, updates and errors, without writing anything."""
    result = DryRun()
    valid: list[tuple[int, str]] = []
    for number, payload, problem in validated_rows(job):
        if problem:
            result.errors.append(RowResult(number, payload.get("email", ""), "error", problem))
        else:
            valid.append((number, payload["email"]))
    existing = _existing_emails(workspace, [e for _, e in valid])
    result.updates = sum(1 for _, e in valid if e in existing)
    result.creates = len(valid) - result.updates
    room = services.allocation_room(workspace)
    if room is not None and result.creates > room:
        current = services.contact_count(workspace)
        result.allocation_error = services.allocation_error(
            workspace.contact_allocation, current, result.creates).message
    return result


def queue(job: Job, source: str) -> bool:
    """Mark the draft ready to run with the timeline's source; True for exactly one caller (the
    caller commits, then starts it)."""
    job.params = {**job.params, "source": source}
    db.session.flush()
    return jobs.queue_draft(job)


def report_csv(errors: list[RowResult]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "email", "error"])
    for e in errors:
        writer.writerow([e.row, escape_cell(e.email), escape_cell(e.message)])
    return out.getvalue()


# ---- the import loop (a stepwise job) ---------------------------------------------------------

def _run_import(ctx: jobs.JobContext) -> dict:
    """Upsert every valid row in batches, each committed with its progress; the error report is
    the job's output."""
    workspace = db.session.get(Workspace, ctx.workspace_id)
    headers, rows = read_table(ctx.input_text or "", ctx.params["delimiter"])
    source = ctx.params.get("source", "Import")
    progress = {"processed": 0, "total": len(rows), "created": 0, "updated": 0, "failed": 0}
    errors: list[RowResult] = []
    batch: list[tuple[int, dict]] = []
    ctx.progress(**progress)

    def flush():
        if not batch:
            return
        try:
            outcomes = [(r.status, describe_errors(r.errors or {})) for r in
                        # An import is a manager's or the CLI operator's: they vouch for consent.
                        services.upsert_contacts(workspace, [p for _, p in batch], source,
                                                 confirmed_consent=True).results]
        except DomainError as exc:  # e.g. the allocation filled up since the dry run
            db.session.rollback()
            outcomes = [("failed", exc.message)] * len(batch)
        for (number, payload), (outcome, message) in zip(batch, outcomes):
            if outcome == "failed":
                errors.append(RowResult(number, payload.get("email", ""), "error", message))
                progress["failed"] += 1
            else:
                progress[outcome] += 1
        progress["processed"] += len(batch)
        batch.clear()
        ctx.progress(**progress)
        ctx.checkpoint()

    try:
        for number, payload, problem in validate_rows(headers, rows, ctx.params["mapping"]):
            if problem:
                errors.append(RowResult(number, payload.get("email", ""), "error", problem))
                progress["failed"] += 1
                progress["processed"] += 1
                continue
            batch.append((number, payload))
            if len(batch) >= BATCH_SIZE:
                flush()
        flush()
    finally:  # a report of the rows judged so far, also when the import stops
        ctx.output_text = report_csv(sorted(errors, key=lambda e: e.row))
    return progress


IMPORT = jobs.register(
    "contacts.csv_import", _run_import, atomic=False,
    interrupted_message="The import stopped because the server restarted. Rows before it were "
                        "saved; importing the same file again is safe.",
    failure_message=lambda exc: ("The import stopped because of an unexpected error. Rows before "
                                 "it were saved; importing the same file again is safe."))
