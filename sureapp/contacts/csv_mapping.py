"""Reading a CSV upload and mapping its columns to contact fields: decoding, delimiter, header
row, the guessed mapping and its checks, one row → contact fields, and validation of every row
with the API's schema. Pure functions of the file's text; no database, no job (the import loop
that saves the rows is csv_import.py)."""
import csv
import io
import re

from pydantic import ValidationError

from ..schema_types import validation_errors
from .schemas import ContactCreate

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_ROWS = 200_000
PREVIEW_ROWS = 5

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
    if b"\x00" in data:  # no field may hold NUL (validation.py), and PostgreSQL cannot store it
        line = data[:data.index(b"\x00")].count(b"\n") + 1
        raise UploadError(f"The file contains a NUL character on line {line}, which no field may "
                          "hold (is it really a CSV text file?). Remove it and upload it again.")
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


def describe_errors(errors: dict[str, list[str]]) -> str:
    """{"email": ["Enter a valid…"]} → "email: Enter a valid…" for the report."""
    return "; ".join(f"{name.replace('_', ' ')}: {' '.join(messages)}"
                     for name, messages in errors.items())


def validate_rows(headers: list[str], rows: list[list[str]], mapping: list[str]):
    """(row number, payload, problem) per data row: the API's schema (same rules, same email
    normalization) plus duplicates within the file, which would otherwise update each other."""
    first_seen: dict[str, int] = {}
    for index, cells in enumerate(rows):
        number = index + 2  # spreadsheet row number: the header is row 1
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
