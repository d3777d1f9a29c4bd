"""CSV import: upload → column mapping → preview and dry run → import with progress → error report.

An upload lives server-side under instance/imports/<job id>/ (never in the session): the decoded
file, a meta.json with the mapping and progress, and the error report. Jobs belong to one user in
one workspace and are removed after JOB_TTL.

Each batch of rows is upserted by email through the contacts services (same validation, email
normalization, allocation and timeline as the API) in its own transaction. An import is an
idempotent upsert, so a batch that fails leaves the file safe to import again: the rows already
saved are updated, not duplicated, and the report says exactly how far it got.
"""
import csv
import io
import json
import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from pydantic import ValidationError

from ..errors import DomainError
from ..extensions import db
from ..models import Contact, Workspace
from ..schema_types import validation_errors
from . import services
from .csv_export import escape_cell
from .schemas import ContactCreate

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_ROWS = 200_000
BATCH_SIZE = 500
PREVIEW_ROWS = 5
JOB_TTL_SECONDS = 24 * 3600
JOB_ID = re.compile(r"^[0-9a-f]{32}$")

# What a column can become. "name" splits a full name into first and last name.
FIELD_TARGETS = {
    "email": "Email", "first_name": "First name", "last_name": "Last name", "name": "Full name",
    "phone": "Phone", "company": "Company", "job_title": "Job title", "status": "Status",
    "source": "Source",
}
CUSTOM = "custom"
SKIP = ""
# Header spellings seen in exports from other tools, normalized (lower-case, alphanumerics only).
HEADER_GUESSES = {
    "email": {"email", "emailaddress", "mail", "e-mail", "emailid", "primaryemail"},
    "first_name": {"firstname", "givenname", "first", "forename", "fname"},
    "last_name": {"lastname", "surname", "familyname", "last", "lname"},
    "name": {"name", "fullname", "contactname", "displayname"},
    "phone": {"phone", "phonenumber", "mobile", "mobilephone", "telephone", "tel", "cell"},
    "company": {"company", "companyname", "organization", "organisation", "account", "employer"},
    "job_title": {"jobtitle", "title", "position", "role"},
    "status": {"status", "subscriptionstatus", "emailstatus"},
    "source": {"source", "leadsource", "origin"},
}


class UploadError(Exception):
    """The file can't be imported; the message says why and what to do."""


# ---- upload -----------------------------------------------------------------------------------

def decode_upload(data: bytes, max_bytes: int | None = MAX_UPLOAD_BYTES) -> str:
    """UTF-8 text (a byte-order mark is dropped); anything else is a clear error, not mojibake."""
    if max_bytes is not None and len(data) > max_bytes:
        raise UploadError(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB. "
                          "Split it into smaller files and import them one by one.")
    if not data.strip():
        raise UploadError("The file is empty.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UploadError("The file is UTF-16 encoded. Save it as \"CSV UTF-8\" and upload it again.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise UploadError(
            f"The file is not UTF-8 encoded (unexpected byte 0x{data[exc.start]:02x} on line {line}). "
            "Save it as \"CSV UTF-8\" (Excel: File → Save As → CSV UTF-8) and upload it again."
        ) from None


def sniff_dialect(text: str) -> str:
    """The delimiter: comma, semicolon (European Excel) or tab, judged from the first lines."""
    sample = "\n".join(text[:65536].splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def read_table(text: str, delimiter: str) -> tuple[list[str], list[list[str]]]:
    """Header and data rows; blank lines are skipped, headers made unique and non-empty."""
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
                if any(cell.strip() for cell in r)]
    except csv.Error as exc:
        raise UploadError(f"The file is not a readable CSV file ({exc}).") from None
    if not rows:
        raise UploadError("The file is empty.")
    header, data = rows[0], rows[1:]
    if not data:
        raise UploadError("The file has a header row but no contacts.")
    if len(data) > MAX_ROWS:
        raise UploadError(f"The file has {len(data):,} rows; at most {MAX_ROWS:,} can be imported at once.")
    seen: dict[str, int] = {}
    headers = []
    for i, name in enumerate(header):
        name = name.strip() or f"Column {i + 1}"
        seen[name] = seen.get(name, 0) + 1
        headers.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return headers, data


def custom_key(header: str) -> str:
    """The custom field key a column becomes: 'Favourite Color' → 'favourite_color'."""
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")[:64] or "field"


# When no spelling matches exactly: a word the header contains ("Contact Email", "Work Phone").
HEADER_HINTS = (("email", "email"), ("mail", "email"), ("phone", "phone"), ("mobile", "phone"),
                ("first", "first_name"), ("surname", "last_name"), ("last", "last_name"),
                ("company", "company"), ("organi", "company"), ("title", "job_title"))


def guess_mapping(headers: list[str]) -> list[str]:
    """A first guess at each column's target from its name; unknown columns become custom fields."""
    used: set[str] = set()
    mapping = []
    for header in headers:
        normalized = re.sub(r"[^a-z0-9]", "", header.lower())
        exact = [t for t, names in HEADER_GUESSES.items()
                 if normalized in {re.sub(r"[^a-z0-9]", "", n) for n in names}]
        hinted = [t for word, t in HEADER_HINTS if word in normalized]
        target = next((t for t in exact + hinted if t not in used), CUSTOM)
        if target != CUSTOM:
            used.add(target)
        mapping.append(target)
    if "name" in mapping and ("first_name" in mapping or "last_name" in mapping):
        mapping[mapping.index("name")] = CUSTOM  # separate name columns are the better source
    return mapping


def mapping_errors(headers: list[str], mapping: list[str]) -> list[str]:
    """Problems that make a mapping unusable (shown above the mapping form)."""
    errors = []
    if len(mapping) != len(headers) or any(m not in FIELD_TARGETS and m not in (CUSTOM, SKIP)
                                           for m in mapping):
        return ["Choose what each column contains."]
    if "email" not in mapping:
        errors.append("Choose the column that holds the email address: it is required.")
    for target, label in FIELD_TARGETS.items():
        if mapping.count(target) > 1:
            errors.append(f"{label} is chosen for more than one column.")
    if "name" in mapping and ("first_name" in mapping or "last_name" in mapping):
        errors.append("Choose either Full name or First/Last name, not both.")
    keys = [custom_key(h) for h, m in zip(headers, mapping) if m == CUSTOM]
    if len(keys) != len(set(keys)):
        errors.append("Two custom-field columns would have the same key; skip or rename one.")
    return errors


def row_payload(headers: list[str], mapping: list[str], cells: list[str]) -> dict:
    """One CSV row as contact fields; blank cells are left out so they never erase data."""
    payload: dict = {}
    custom: dict = {}
    for header, target, value in zip(headers, mapping, cells + [""] * (len(headers) - len(cells))):
        value = value.strip()
        if not value or target == SKIP:
            continue
        if target == CUSTOM:
            custom[custom_key(header)] = value
        elif target == "name":
            first, _, last = value.partition(" ")
            payload["first_name"] = first
            if last.strip():
                payload["last_name"] = last.strip()
        elif target == "status":
            payload["status"] = value.lower()
        else:
            payload[target] = value
    if custom:
        payload["custom_fields"] = custom
    return payload


# ---- jobs on disk -----------------------------------------------------------------------------

@dataclass
class ImportJob:
    """An upload in progress; everything but the file itself is in meta."""

    id: str
    path: Path
    meta: dict = field(default_factory=dict)

    @property
    def upload_path(self) -> Path:
        return self.path / "upload.csv"

    @property
    def report_path(self) -> Path:
        return self.path / "errors.csv"

    def save(self) -> None:
        """Atomic write, so a poll never reads half a file."""
        tmp = self.path / f"meta.{threading.get_ident()}.tmp"
        tmp.write_text(json.dumps(self.meta))
        os.replace(tmp, self.path / "meta.json")

    def reload(self) -> "ImportJob":
        self.meta = json.loads((self.path / "meta.json").read_text())
        return self

    def table(self) -> tuple[list[str], list[list[str]]]:
        return read_table(self.upload_path.read_text(encoding="utf-8"), self.meta["delimiter"])

    def delete(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def jobs_root() -> Path:
    """instance/imports/, or CONTACT_IMPORT_DIR when configured (tests use a temporary folder)."""
    root = Path(current_app.config.get("CONTACT_IMPORT_DIR")
                or Path(current_app.instance_path) / "imports")
    root.mkdir(parents=True, exist_ok=True)
    return root


def cleanup_old_jobs(now: float | None = None) -> int:
    """Remove jobs older than JOB_TTL (uploads and reports); returns how many were removed."""
    now = now or time.time()
    removed = 0
    for path in jobs_root().iterdir():
        if path.is_dir() and JOB_ID.match(path.name) and now - path.stat().st_mtime > JOB_TTL_SECONDS:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def create_job(workspace: Workspace, user_id, filename: str, data: bytes,
               max_bytes: int | None = MAX_UPLOAD_BYTES) -> ImportJob:
    """Validate and store an upload; raises UploadError with a message for the user."""
    text = decode_upload(data, max_bytes)
    delimiter = sniff_dialect(text)
    headers, rows = read_table(text, delimiter)
    cleanup_old_jobs()
    job_id = secrets.token_hex(16)
    path = jobs_root() / job_id
    path.mkdir(mode=0o700)
    job = ImportJob(job_id, path, {
        "workspace_id": str(workspace.id), "user_id": str(user_id) if user_id else "",
        "filename": os.path.basename(filename or "upload.csv")[:200], "delimiter": delimiter,
        "headers": headers, "row_count": len(rows), "mapping": guess_mapping(headers),
        "state": "uploaded", "created": time.time(), "progress": {}, "error": "",
    })
    job.upload_path.write_text(text, encoding="utf-8")
    job.save()
    return job


def load_job(job_id: str, workspace: Workspace, user_id) -> ImportJob | None:
    """The job if it exists and belongs to this user in this workspace, else None."""
    if not JOB_ID.match(job_id or ""):
        return None
    path = jobs_root() / job_id
    if not (path / "meta.json").is_file():
        return None
    job = ImportJob(job_id, path).reload()
    if job.meta["workspace_id"] != str(workspace.id) or job.meta["user_id"] != str(user_id or ""):
        return None
    return job


# ---- dry run and import -----------------------------------------------------------------------

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


def describe_errors(errors: dict[str, list[str]]) -> str:
    """{"email": ["Enter a valid…"]} → "email: Enter a valid…" for the report."""
    return "; ".join(f"{name.replace('_', ' ')}: {' '.join(messages)}"
                     for name, messages in errors.items())


def validated_rows(job: ImportJob) -> list:
    """[row number, payload, problem] per data row, validated once per mapping: kept in the
    job's folder (prepared.json) so the dry run, the start check and the import share it."""
    prepared = job.path / "prepared.json"
    if prepared.is_file():
        return json.loads(prepared.read_text(encoding="utf-8"))
    rows = [list(r) for r in _validate(job)]
    tmp = job.path / "prepared.json.tmp"
    tmp.write_text(json.dumps(rows), encoding="utf-8")
    os.replace(tmp, prepared)
    return rows


def forget_validation(job: ImportJob) -> None:
    """After a mapping change the rows mean something else: validate again."""
    (job.path / "prepared.json").unlink(missing_ok=True)


def _validate(job: ImportJob):
    """(row number, payload, problem) per data row: the API's schema (same rules, same email
    normalization) plus duplicates within the file, which would otherwise update each other."""
    headers, rows = job.table()
    mapping = job.meta["mapping"]
    first_seen: dict[str, int] = {}
    for index, cells in enumerate(rows):
        number = index + 2
        payload = row_payload(headers, mapping, cells)
        problem = ""
        if not payload.get("email"):
            problem = "email: The email cell is empty."
        else:
            try:
                payload["email"] = ContactCreate.model_validate(payload).email
            except ValidationError as exc:
                problem = describe_errors(validation_errors(exc, root="row"))
        if not problem:
            if payload["email"] in first_seen:
                problem = f"email: Duplicate of row {first_seen[payload['email']]} in this file."
            else:
                first_seen[payload["email"]] = number
        yield number, payload, problem


def _existing_emails(workspace: Workspace, emails: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(emails), 500):
        found.update(db.session.scalars(select(Contact.email).where(
            Contact.workspace_id == workspace.id, Contact.email.in_(emails[start:start + 500]))))
    return found


def dry_run(workspace: Workspace, job: ImportJob) -> DryRun:
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


def write_report(job: ImportJob, errors: list[RowResult]) -> None:
    with job.report_path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["row", "email", "error"])
        for e in errors:
            writer.writerow([e.row, escape_cell(e.email), escape_cell(e.message)])


def run_import(workspace: Workspace, job: ImportJob, source: str, on_progress=None) -> dict:
    """Upsert every valid row in batches; returns (and stores in the job) the final counts."""
    total = job.meta["row_count"]
    progress = {"processed": 0, "total": total, "created": 0, "updated": 0, "failed": 0}
    errors: list[RowResult] = []
    batch: list[tuple[int, dict]] = []
    job.meta.update(state="running", progress=progress)
    job.save()

    def flush():
        if not batch:
            return
        try:
            outcomes = [(r.status, describe_errors(r.errors or {})) for r in
                        services.upsert_contacts(workspace, [p for _, p in batch], source).results]
            db.session.commit()
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
        job.meta["progress"] = progress
        job.save()
        if on_progress:
            on_progress(progress)

    try:
        for number, payload, problem in validated_rows(job):
            if problem:
                errors.append(RowResult(number, payload.get("email", ""), "error", problem))
                progress["failed"] += 1
                progress["processed"] += 1
                continue
            batch.append((number, payload))
            if len(batch) >= BATCH_SIZE:
                flush()
        flush()
    except Exception:
        db.session.rollback()
        write_report(job, sorted(errors, key=lambda e: e.row))
        job.meta.update(state="failed", progress=progress,
                        error="The import stopped because of an unexpected error. Rows before it "
                              "were saved; importing the same file again is safe.")
        job.save()
        raise
    errors.sort(key=lambda e: e.row)
    write_report(job, errors)
    job.upload_path.unlink(missing_ok=True)  # the data is in the database now; keep only the report
    forget_validation(job)
    job.meta.update(state="done", progress=progress)
    job.save()
    return progress


# ---- background runs (UI) ---------------------------------------------------------------------

_running: dict[str, threading.Thread] = {}


def claim(job: ImportJob) -> bool:
    """True for exactly one caller per job (a marker file created atomically), so a double
    click or two workers never run the same import twice."""
    try:
        os.close(os.open(job.path / "started", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return False
    return True


def start_in_background(workspace: Workspace, job: ImportJob, source: str) -> None:
    """Run the import in a thread with its own app context; the page polls the job's progress."""
    if not claim(job):
        return
    app = current_app._get_current_object()
    workspace_id = workspace.id
    job.meta.update(state="running", progress={"processed": 0, "total": job.meta["row_count"],
                                              "created": 0, "updated": 0, "failed": 0})
    job.save()

    def work():
        with app.app_context():
            try:
                run_import(db.session.get(Workspace, workspace_id), job, source)
            except Exception:  # recorded in the job as "failed"; the thread must not die silently
                app.logger.exception("contact import %s failed", job.id)
            finally:
                db.session.remove()

    thread = threading.Thread(target=work, name=f"import-{job.id[:8]}", daemon=True)
    _running[job.id] = thread
    thread.start()


def wait_for(job_id: str, timeout: float = 60) -> None:
    """Block until a background import ends (tests and shutdown)."""
    thread = _running.pop(job_id, None)
    if thread:
        thread.join(timeout)

