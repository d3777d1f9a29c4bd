"""schema_types.normalize_email: its ASCII fast path gives exactly email_validator's answer
(accept with the same normalized form, or hand over to it so the refusal is the same)."""
import pytest
from email_validator import SPECIAL_USE_DOMAIN_NAMES
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sureapp.schema_types import _simple_email, normalize_email, validated_email

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
