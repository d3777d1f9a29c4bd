"""schema_types: normalize_email's ASCII fast path gives exactly email_validator's answer
(accept with the same normalized form, or hand over to it so the refusal is the same); the
patterns the OpenAPI document shows accept exactly what the validators accept."""
import re

import pytest
from email_validator import SPECIAL_USE_DOMAIN_NAMES
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from sureapp.schema_types import (BLANK, CUSTOM_KEY, HTTP_URL_OR_EMPTY, NO_CONTROL_CHARACTERS,
                                  NO_CONTROL_CHARACTERS_AT_ALL, NOT_BLANK, NOT_BLANK_ONE_LINE,
                                  _simple_email, normalize_email, text, validated_email)
from sureapp.validation import custom_key_problem, json_tree_problem

ATEXT = "abcxyzABCXYZ0189!#$%&'*+/=?^_`{|}~-"
# Pieces that sit on the edges of the rules: dots, hyphens, digits-only TLDs, punycode and
# R-LDH labels ("ab--c"), special-use names, upper case, quotes, brackets, spaces, non-ASCII.
DOMAIN_PIECES = ["example", "com", "EXAMPLE", "a", "x-y", "-x", "x-", "xn--bcher-kva", "ab--cd",
                 "123", "1a", "a1", "local", "localhost", "invalid", "arpa", "onion", "test",
                 "in-addr", "k" * 63, "k" * 64, "", "_", "ü", "ex ample", "\u212a"]
LOCAL_PIECES = ["a", "Ab", "info", "first.last", ".x", "x.", "a..b", '"quoted"', "a b",
                "(comment)", "<a>", "ü", "\u212a", "\x00", "k" * 64, "k" * 65]


@st.composite
def addresses(draw):
    local = draw(st.one_of(st.text(alphabet=ATEXT + ".", min_size=0, max_size=12),
                           st.sampled_from(LOCAL_PIECES)))
    labels = draw(st.lists(st.one_of(st.sampled_from(DOMAIN_PIECES),
                                     st.text(alphabet="abz09-", min_size=0, max_size=8)),
                           min_size=1, max_size=4))
    at = draw(st.sampled_from(["@", "@", "@", "@@", "", "＠"]))
    return local + at + ".".join(labels)


def full_answer(value: str):
    try:
        return validated_email(value)
    except ValueError as exc:
        return ("refused", str(exc))


@settings(max_examples=600, deadline=None)
@given(value=st.one_of(addresses(), st.emails(), st.text(max_size=40)))
@example(value="Ana.Lima@Example.COM")
@example(value="\u212a@example.com")  # Kelvin sign: lower() makes it ASCII
@example(value="a@b.c-d.example")
@example(value="a@xn--bcher-kva.example")
@example(value="a@mail.localhost")
@example(value="a@" + "k" * 63 + ".com")
def test_the_fast_path_agrees_with_email_validator(value):
    value = value.strip()
    fast = _simple_email(value)
    if fast is not None:
        assert fast == full_answer(value), "the fast path accepted differently"
    if value and len(value) <= 254:
        assert _answer(normalize_email, value) == full_answer(value)


def _answer(fn, value):
    try:
        return fn(value)
    except ValueError as exc:
        return ("refused", str(exc))


@pytest.mark.parametrize("name", SPECIAL_USE_DOMAIN_NAMES)
def test_special_use_domains_take_the_full_check(name):
    assert _simple_email(f"a@mail.{name}") is None
    with pytest.raises(ValueError):
        normalize_email(f"a@mail.{name}")


def test_common_addresses_take_the_fast_path():
    assert _simple_email("Ana.Lima+news@Mail.Example.com") == "ana.lima+news@mail.example.com"


# ---- the document's patterns say exactly what the validators refuse ------------------------

_TRICKY = " \t\n\r\x0b\x0c\x1c\x85\xa0\x01\x7f\u3000\u2028\ufeff=+-@aZ:/hHtTpPsS"
_TEXT = st.one_of(st.text(max_size=12), st.text(alphabet=_TRICKY, max_size=10),
                  st.text(alphabet=_TRICKY, max_size=6).map(lambda s: f"hTtPs://{s}"))


def _matches(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None  # ECMA's $ is the end, never before a \n


@settings(max_examples=800, deadline=None)
@given(value=_TEXT)
@example(value="0\x0c")  # a trailing control is refused as sent, even though trimming drops it
@example(value="\u2001\x0c\u2002x")
@example(value=" \u3000")
@example(value="x\n")
def test_text_patterns_agree_with_the_validators(value):
    from sureapp.automations.schemas import SendEmailStep
    from sureapp.operations.leaks import LeakReportIn

    sent_ok = json_tree_problem({"v": value}) is None  # every body and query is checked as sent
    for pattern, field in ((NO_CONTROL_CHARACTERS, text(100)), (NOT_BLANK, text(100, 1))):
        try:
            TypeAdapter(field).validate_python(value)
            valid = sent_ok
        except ValidationError:
            valid = False
        assert valid == _matches(pattern, value), (pattern, value)
    try:
        LeakReportIn(keys=["x"], source="s", url=value)
        valid = sent_ok
    except ValidationError:
        valid = False
    assert valid == _matches(HTTP_URL_OR_EMPTY, value), value
    try:
        SendEmailStep(type="send_email", subject=value, body="b")
        valid = sent_ok
    except ValidationError:
        valid = False
    assert valid == _matches(NOT_BLANK_ONE_LINE, value), value
    assert (custom_key_problem(value) is None) == _matches(CUSTOM_KEY, value), value
    assert (json_tree_problem({value: 1}) is None) == _matches(NO_CONTROL_CHARACTERS_AT_ALL, value)
    blank = not value.strip() and sent_ok
    assert blank == _matches(BLANK, value), value


@settings(max_examples=400, deadline=None)
@given(value=st.from_regex(NOT_BLANK, fullmatch=True).filter(lambda s: len(s) <= 100))
def test_what_the_required_text_pattern_generates_is_accepted(value):
    assert json_tree_problem({"v": value}) is None
    TypeAdapter(text(100, 1)).validate_python(value)
