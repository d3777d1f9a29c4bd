"""Field types shared by the pydantic schemas of every feature (API, MCP, UI and CSV alike)."""
import re
from datetime import datetime, timezone
from typing import Annotated

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer,
                      StringConstraints, ValidationError, WithJsonSchema)

from .errors import ValidationFailed
from .timeutil import iso_utc
from .validation import check_text

EMAIL_MAX = 254


# What validation.py refuses, said in the document as JSON Schema (ECMA-262) patterns that
# Python reads alike; tests/test_schema_types.py checks each against its rule. Every string
# of a body or query is checked as sent (api/operations.check_json_tree), before trimming.
# Text: no NUL or other control character; tab, line feed and carriage return are allowed.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
# An object key anywhere in a JSON body (validation.json_tree_problem): not even line breaks.
NO_CONTROL_CHARACTERS_AT_ALL = r"^[^\x00-\x1f\x7f-\x9f]*$"
_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
# The whitespace pydantic trims (Unicode White_Space) that is not a refused control character.
_SPACES = r" \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# A required text(): something besides whitespace, since the length is counted after trimming.
NOT_BLANK = rf"^[^{_CONTROLS}]*[^{_CONTROLS}\t\n\r{_SPACES}][^{_CONTROLS}]*$"
BLANK = rf"^[\t\n\r{_SPACES}]*$"  # only whitespace (or nothing)
# A required one-line text (a mail subject): NOT_BLANK without line breaks anywhere.
NOT_BLANK_ONE_LINE = rf"^[^{_CONTROLS}\r\n]*[^{_CONTROLS}\t\n\r{_SPACES}][^{_CONTROLS}\r\n]*$"
# A text() that is empty or an http(s) address (the leak report's `url`).
HTTP_URL_OR_EMPTY = rf"^[\t\n\r{_SPACES}]*(?:[Hh][Tt][Tt][Pp][Ss]?://[^{_CONTROLS}]*)?$"
# A custom-field name (validation.custom_key_problem): not blank, no control character, and
# not starting with =, +, - or @ after any leading spaces.
CUSTOM_KEY = rf"^[{_SPACES}]*[^{_SPACES}\x00-\x1f\x7f-\x9f=+\-@][^\x00-\x1f\x7f-\x9f]*$"


def text(max_length: int, min_length: int = 0):
    """A trimmed string of bounded length without control characters (validation.py)."""
    return Annotated[str, StringConstraints(strip_whitespace=True, min_length=min_length,
                                            max_length=max_length), AfterValidator(check_text),
                     Field(json_schema_extra={
                         "pattern": NOT_BLANK if min_length else NO_CONTROL_CHARACTERS})]


Name = text(255, 1)
ShortText = text(255)
LongText = text(100_000)


# The addresses nearly everyone has: ASCII dot-atom local part, ASCII host name. For these,
# email_validator's answer is known without running it (≈0.3 ms a call here, mostly Unicode
# checks): valid, and normalized to the lower-cased input. Anything else takes the full check.
# tests/test_schema_types.py proves the two agree (hypothesis, against email_validator).
_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_SIMPLE_EMAIL = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*@((?:{_LABEL}\.)+{_LABEL})")
_SPECIAL_USE_SUFFIXES = tuple(f".{name}" for name in SPECIAL_USE_DOMAIN_NAMES)
DOMAIN_MAX = 253


def _simple_email(value: str) -> str | None:
    """`value` normalized if it is a plain ASCII address email_validator accepts, else None."""
    if not value.isascii():  # before lower(): 'K' (Kelvin sign) lower-cases to ASCII 'k'
        return None
    lowered = value.lower()
    match = _SIMPLE_EMAIL.fullmatch(lowered)
    if match is None:
        return None
    domain = match.group(1)
    if (len(domain) > DOMAIN_MAX or not domain[-1].isalpha() or "--" in domain
            or f".{domain}".endswith(_SPECIAL_USE_SUFFIXES)):
        return None  # TLD must end in a letter; punycode / R-LDH labels; special-use names
    return lowered


def normalize_email(value: str) -> str:
    """Trimmed, validated and lower-cased: the form in which every email is stored and compared."""
    if not isinstance(value, str):
        raise ValueError("Enter an email address.")
    value = value.strip()
    if not value:
        raise ValueError("Enter an email address.")
    if len(value) > EMAIL_MAX:
        raise ValueError(f"An email address has at most {EMAIL_MAX} characters.")
    return _simple_email(value) or validated_email(value)


def validated_email(value: str) -> str:
    """The full check (email_validator: Unicode, IDNA, quoting…) of a trimmed address."""
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(email_problem(str(exc), value)) from None
    return result.normalized.lower()


def _any_case(name: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in name)


# Special-use domains (RFC 6761: .local, .localhost, .invalid, .test, .onion…) are refused by
# email_validator; the document says so, as a pattern an address must not match.
SPECIAL_USE_EMAIL_DOMAIN = ("[@.](?:" + "|".join(_any_case(n) for n in SPECIAL_USE_DOMAIN_NAMES)
                            + r")\.?$")
_EMAIL_SCHEMA = {"format": "email", "not": {"pattern": SPECIAL_USE_EMAIL_DOMAIN},
                 "description": "An email address; special-use domains (RFC 6761, e.g. .local, "
                                ".test, .invalid) are refused."}
# email_validator's reasons, said our way (first match wins): a person reads them next to a field.
_EMAIL_PROBLEMS = (
    ("special-use or reserved", "{domain} is a reserved domain that cannot receive mail. Use an "
                                "address at a real domain."),
    ("@-sign.", "An email address needs one @ with a name before it and a domain after it, "
                "like ann@example.com."),
    ("at-sign", "Use a plain @ in the email address."),
    ("too long", "That email address is too long."),
    ("after the @-sign", "The part after the @ is not a valid domain, like example.com."),
    ("period", "Periods cannot start or end an email address or come twice in a row."),
)


def email_problem(reason: str, value: str) -> str:
    """What is wrong with an address, in our words (never the library's text)."""
    domain = value.rpartition("@")[2] or "That"
    for needle, message in _EMAIL_PROBLEMS:
        if needle in reason:
            return message.format(domain=domain)
    return "Enter a valid email address, like ann@example.com."


def normalize_account_email(value: str) -> str:
    """An account's email (sign-up, log-in, invitations, create-user): the contact rules, except
    that special-use domains such as corp.local or example.test are accepted — an intranet's
    accounts live there (Active Directory domains are often .local), while a contact must be
    reachable by mail, so contacts keep refusing them."""
    value = (value or "").strip()
    local, at, domain = value.rpartition("@")
    lowered = domain.lower()
    if at and "." in lowered and f".{lowered}".endswith(_SPECIAL_USE_SUFFIXES):
        # Check everything else as if the reserved name were an ordinary top-level domain.
        stand_in = normalize_email(f"{local}@{lowered.rsplit('.', 1)[0]}.com")
        return f"{stand_in.rpartition('@')[0]}@{lowered}"
    return normalize_email(value)


Email = Annotated[str, BeforeValidator(normalize_email), Field(json_schema_extra=_EMAIL_SCHEMA,
                                                                max_length=EMAIL_MAX)]


def _to_naive_utc(value: datetime) -> datetime:
    """Aware input is converted to UTC; naive input is taken as UTC already."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


# In: ISO 8601 (offset or Z; naive means UTC) → naive UTC. Out: ISO 8601 with a Z.
_ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_text_only(value):
    """Only ISO 8601 text (or a datetime, from our own code): pydantic's lax mode would also
    read numbers and digit strings as Unix times, which the document does not promise."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE_TIME.match(value.strip()):
        raise ValueError("Give a date and time in ISO 8601, e.g. 2026-12-02T09:30:00Z.")
    return value.strip()


# Documented as RFC 3339 `date-time` both ways (the serializer would otherwise say plain string).
UtcDatetime = Annotated[datetime, BeforeValidator(_iso_text_only), AfterValidator(_to_naive_utc),
                        PlainSerializer(iso_utc, return_type=str, when_used="json"),
                        WithJsonSchema({"type": "string", "format": "date-time"})]


def validation_errors(exc, root: str = "body") -> dict[str, list[str]]:
    """A pydantic ValidationError as {"field.path": ["message"]}; whole-input errors go under `root`."""
    errors: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False, include_input=False):
        name = ".".join(str(part) for part in err["loc"]) or root
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "Unknown field."
        elif message.startswith("Value error, "):
            message = message[len("Value error, "):]
        errors.setdefault(name, []).append(message)
    return errors


def validated(schema, data: dict):
    """Form values through a service schema: its rules, its messages (ValidationFailed)."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(validation_errors(exc)) from None


def _blank_or_email(value):
    return "" if value is None or (isinstance(value, str) and not value.strip()) else normalize_email(value)


# An optional email: "" (or only whitespace, or null) means none.
OptionalEmail = Annotated[str, BeforeValidator(_blank_or_email), Field(max_length=EMAIL_MAX),
                          WithJsonSchema({"anyOf": [
                              {"type": "string", "maxLength": EMAIL_MAX, **_EMAIL_SCHEMA},
                              {"type": "string", "pattern": BLANK}, {"type": "null"}]})]


class Strict(BaseModel):
    """Unknown fields are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


def drop_null_defaults(schema: dict, model) -> None:
    for prop in schema.get("properties", {}).values():
        nullable = any(option.get("type") == "null" for option in prop.get("anyOf", []))
        if prop.get("default", "") is None and not nullable:
            del prop["default"]


class Patch(Strict):
    """A partial update: only the fields sent change, and null is not a value (except where a
    field is explicitly nullable), so the documented fields have no default."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=drop_null_defaults)
