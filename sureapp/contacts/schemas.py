"""Contact, list and tag schemas: the one set of validation rules for the API, MCP, UI and CSV."""
import re
import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StrictBool, StringConstraints, WithJsonSchema

from ..pagination import DEFAULT_LIMIT, MAX_LIMIT
from ..schema_types import (CUSTOM_KEY, NO_CONTROL_CHARACTERS, Email, LongText, Name, Patch, ShortText,
                            Strict, UtcDatetime, text)
from ..validation import (CUSTOM_KEY_MAX, CUSTOM_VALUE_MAX, MAX_SAFE_INTEGER, check_custom_key,
                          check_custom_value)

ContactStatus = Literal["active", "pending", "unsubscribed", "bounced", "invalid"]
MAX_IDS = 100  # list_ids / tag_ids on one contact
MAX_MEMBER_IDS = 1000  # contact_ids in one membership call
MAX_BULK_ROWS = 1000
CUSTOM_FIELDS_MAX = 50

Phone = text(64)
Search = text(200)
# A cursor is URL-safe base64 without padding (pagination.py), so its alphabet is known.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]*$"
Cursor = Annotated[str, StringConstraints(max_length=512, pattern=CURSOR_PATTERN)]
# One validator each (sureapp/validation.py) instead of a pydantic union: a union reports a
# failure once per member ("not a bool", "not an int", …) instead of the one reason.
CustomKey = Annotated[str, AfterValidator(check_custom_key)]
CustomValue = Annotated[Any, AfterValidator(check_custom_value)]
# The whole object's schema is written out: pydantic would turn a key pattern into
# patternProperties, which leaves other keys allowed.
CustomFields = Annotated[dict[CustomKey, CustomValue], Field(max_length=CUSTOM_FIELDS_MAX),
                         WithJsonSchema({
    "type": "object", "maxProperties": CUSTOM_FIELDS_MAX,
    "propertyNames": {"minLength": 1, "maxLength": CUSTOM_KEY_MAX, "pattern": CUSTOM_KEY,
                      "description": "Visible characters; may not start with =, +, - or @."},
    "additionalProperties": {"anyOf": [
        {"type": "string", "maxLength": CUSTOM_VALUE_MAX, "pattern": NO_CONTROL_CHARACTERS},
        {"type": "boolean"},
        {"type": "integer", "minimum": -MAX_SAFE_INTEGER, "maximum": MAX_SAFE_INTEGER},
        {"type": "number"}, {"type": "null"}]}})]


def _unique_ids(ids: list[uuid.UUID]) -> list[uuid.UUID]:
    return list(dict.fromkeys(ids))


IdList = Annotated[list[uuid.UUID], Field(max_length=MAX_IDS), AfterValidator(_unique_ids)]


class Listing(Strict):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT,
                       description=f"Page size, 1–{MAX_LIMIT}.")
    cursor: Cursor | None = Field(None, description="`next_cursor` of the previous page, as "
                                                    "given (URL-safe base64); any other value "
                                                    "is a 422.")


# ---- contacts -------------------------------------------------------------------------------

class ContactCreate(Strict):
    """A new contact (POST), or the full replacement of one (PUT): omitted fields get defaults."""

    email: Email
    first_name: ShortText = ""
    last_name: ShortText = ""
    phone: Phone = ""
    company: ShortText = ""
    job_title: ShortText = ""
    status: ContactStatus = "active"
    source: ShortText = ""
    custom_fields: CustomFields = Field(default_factory=dict)
    list_ids: IdList = Field(default_factory=list)
    tag_ids: IdList = Field(default_factory=list)


class ContactPatch(Patch):
    """A partial update (PATCH): only the fields sent change; null is not a value."""

    email: Email = None
    first_name: ShortText = None
    last_name: ShortText = None
    phone: Phone = None
    company: ShortText = None
    job_title: ShortText = None
    status: ContactStatus = None
    source: ShortText = None
    custom_fields: CustomFields = None
    list_ids: IdList = None
    tag_ids: IdList = None


# What `search` means, in the words the OpenAPI document and the MCP tools give (the rule
# itself is contacts/query.py's ContactFilter).
SEARCH_DESCRIPTION = (
    "Finds the text anywhere in the contact's email, first name, last name, company, or full "
    "name \"first last\" (so `ana lima` finds Ana Lima), ignoring case. Leading, trailing and "
    "repeated spaces are ignored; `%` and `_` match only themselves.")


class ContactQuery(Listing):
    search: Search | None = Field(None, description=SEARCH_DESCRIPTION)
    status: ContactStatus | None = None
    list_id: uuid.UUID | None = None
    tag_id: uuid.UUID | None = None
    created_after: UtcDatetime | None = Field(
        None, description="Only contacts created after this instant (exclusive). ISO 8601; "
                          "naive means UTC.")
    updated_after: UtcDatetime | None = Field(
        None, description="Only contacts changed after this instant (exclusive; a new contact "
                          "counts as changed when created). ISO 8601; naive means UTC. Poll "
                          "with the latest `updated_at` you have seen.")


class ContactOut(BaseModel):
    id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    phone: str
    company: str
    job_title: str
    status: ContactStatus
    source: str
    custom_fields: dict[str, Any]
    list_ids: list[uuid.UUID]
    tag_ids: list[uuid.UUID]
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, contact) -> "ContactOut":
        return cls(id=contact.id, email=contact.email, first_name=contact.first_name,
                   last_name=contact.last_name, phone=contact.phone, company=contact.company,
                   job_title=contact.job_title, status=contact.status, source=contact.source,
                   custom_fields=contact.custom_fields or {},
                   list_ids=[item.id for item in contact.lists],
                   tag_ids=[item.id for item in contact.tags],
                   created_at=contact.created_at, updated_at=contact.updated_at)


class ContactPage(BaseModel):
    data: list[ContactOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


class BulkUpsert(Strict):
    """Up to 1,000 contacts, matched by email: existing ones are updated (only the fields sent),
    new ones created. Each row has the fields of a new contact and is validated on its own."""

    # Rows are documented as "anything": each is validated on its own and an invalid one is
    # reported as failed in the results (200), so the request itself accepts any row.
    contacts: Annotated[list[Any], Field(
        min_length=1, max_length=MAX_BULK_ROWS,
        json_schema_extra={"items": {"description": "A contact with the fields of ContactCreate "
                                                    "(email required)."}})]


class BulkRowResult(BaseModel):
    index: int = Field(description="Position of the row in the request, from 0.")
    email: str | None
    status: Literal["created", "updated", "failed"]
    id: uuid.UUID | None = None
    errors: dict[str, list[str]] | None = None


class BulkSummary(BaseModel):
    created: int
    updated: int
    failed: int


class BulkReport(BaseModel):
    summary: BulkSummary
    results: list[BulkRowResult]


# ---- lists and tags -------------------------------------------------------------------------

HexColor = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$"),
                     AfterValidator(str.lower)]
Slug = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255,
                                        pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]


SHOW_ON_PREFERENCES = ("Contacts may join or leave this list on the preferences page their "
                       "mails link to (only lists with this on are shown there).")
DOUBLE_OPT_IN = ("New contacts added to this list through the API or MCP are `pending` until "
                 "they click the confirmation link mailed to them; refused (409) while the "
                 "workspace cannot send mail.")


class ListCreate(Strict):
    name: Name
    description: LongText = ""
    show_on_preferences: StrictBool = Field(False, description=SHOW_ON_PREFERENCES)
    double_opt_in: StrictBool = Field(False, description=DOUBLE_OPT_IN)


class ListPatch(Patch):
    name: Name = None
    description: LongText = None
    show_on_preferences: StrictBool = Field(None, description=SHOW_ON_PREFERENCES)
    double_opt_in: StrictBool = Field(None, description=DOUBLE_OPT_IN)


class TagCreate(Strict):
    name: Name
    slug: Slug | None = Field(None, description="Lower-case words joined by '-'; made from the "
                                                "name when omitted.")
    color: HexColor = "#6b7280"
    description: LongText = ""


class TagPatch(Patch):
    name: Name = None
    slug: Slug = None
    color: HexColor = None
    description: LongText = None


class GroupQuery(Listing):
    search: Search | None = Field(None, description="Matches the name.")


class GroupOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    member_count: int
    created_at: UtcDatetime
    updated_at: UtcDatetime


class ListOut(GroupOut):
    show_on_preferences: bool
    double_opt_in: bool

    @classmethod
    def of(cls, item, member_count: int) -> "ListOut":
        return cls(id=item.id, name=item.name, description=item.description,
                   member_count=member_count, show_on_preferences=item.show_on_preferences,
                   double_opt_in=item.double_opt_in, created_at=item.created_at,
                   updated_at=item.updated_at)


class TagOut(GroupOut):
    slug: str
    color: str

    @classmethod
    def of(cls, tag, member_count: int) -> "TagOut":
        return cls(id=tag.id, name=tag.name, slug=tag.slug, color=tag.color,
                   description=tag.description, member_count=member_count,
                   created_at=tag.created_at, updated_at=tag.updated_at)


class ListPage(BaseModel):
    data: list[ListOut]
    next_cursor: str | None


class TagPage(BaseModel):
    data: list[TagOut]
    next_cursor: str | None


class MemberIds(Strict):
    contact_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_MEMBER_IDS),
                           AfterValidator(_unique_ids)]


class MembershipChange(BaseModel):
    added: int = Field(description="Contacts newly added (already-members are not counted).")
    member_count: int


def slugify(name: str) -> str:
    """'Big Customers!' → 'big-customers' (never empty)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:255].rstrip("-") or "tag"
