"""The keyset pager's cursor: a fixed, versioned format, checked field by field; anything else is
InvalidCursor (422 on the API), never a 500 and never a silently wrong page."""
import base64
import json
import uuid
from datetime import datetime

import pytest

from sureapp.contacts.query import NEWEST_FIRST, ordering
from sureapp.pagination import AFTER, BEFORE, InvalidCursor, decode_cursor, encode_cursor

WHEN = datetime(2026, 11, 20, 8, 30, 0, 123456)
ID = uuid.UUID("0f0e0d0c-0b0a-4908-8706-050403020100")


def _token(data) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_a_cursor_reads_back_as_the_position_it_was_made_for():
    for direction in (AFTER, BEFORE):
        assert decode_cursor(encode_cursor(NEWEST_FIRST, [WHEN, ID], direction),
                             NEWEST_FIRST) == (direction, [WHEN, ID])
    by_name = ordering("name")
    assert decode_cursor(encode_cursor(by_name, ["Ana", "Lima", ID]), by_name) == (
        AFTER, ["Ana", "Lima", ID])


def test_the_format_is_the_documented_one():
    token = encode_cursor(NEWEST_FIRST, [WHEN, ID])
    assert json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) == {
        "v": 1, "o": "created:desc", "d": "after", "k": [WHEN.isoformat(), str(ID)]}


def test_the_apis_first_cursors_still_page_newest_first():
    legacy = _token([WHEN.isoformat(), str(ID)])
    assert decode_cursor(legacy, NEWEST_FIRST) == (AFTER, [WHEN, ID])
    with pytest.raises(InvalidCursor):
        decode_cursor(legacy, ordering("email"))  # they never existed for another order


@pytest.mark.parametrize("token", [
    "",  # decodes to nothing
    "!!!",  # not base64
    _token("a string"),
    _token({"v": 2, "o": "created:desc", "d": "after", "k": [WHEN.isoformat(), str(ID)]}),
    _token({"v": 1, "o": "created:asc", "d": "after", "k": [WHEN.isoformat(), str(ID)]}),
    _token({"v": 1, "o": "email:asc", "d": "after", "k": ["a@example.com", str(ID)]}),
    _token({"v": 1, "o": "created:desc", "d": "sideways", "k": [WHEN.isoformat(), str(ID)]}),
    _token({"v": 1, "o": "created:desc", "d": "after", "k": [WHEN.isoformat()]}),
    _token({"v": 1, "o": "created:desc", "d": "after", "k": [WHEN.isoformat(), "not-a-uuid"]}),
    _token({"v": 1, "o": "created:desc", "d": "after", "k": ["yesterday", str(ID)]}),
    _token({"v": 1, "o": "created:desc", "d": "after", "k": [12345, str(ID)]}),
    _token({"v": 1, "o": "created:desc", "d": "after", "k": None}),
    _token([WHEN.isoformat(), str(ID), "extra"]),
    "A" * 5000,  # far longer than any cursor we make
])
def test_anything_else_is_an_invalid_cursor(token):
    with pytest.raises(InvalidCursor) as caught:
        decode_cursor(token, NEWEST_FIRST)
    assert "cursor" in caught.value.errors
