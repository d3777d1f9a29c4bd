"""Input rules that every entry point shares: the UI's forms, the JSON API (single and bulk),
MCP tools and CSV import all reach them, so a value one surface refuses no other accepts.

- Control characters: never in a key, a name or any stored text, except tab, line feed and
  carriage return inside free text. NUL cannot be stored by PostgreSQL at all, the others
  corrupt terminals, logs and CSV files; lone surrogates cannot be encoded as UTF-8.
- Custom fields: a key is 1–64 visible characters and may not look like a spreadsheet formula
  (first visible character `=`, `+`, `-` or `@`). Such keys are **refused**, not rewritten: a
  key is a name the caller chose and reads back, and silently storing `'=SUM(…)` instead of
  `=SUM(…)` would surprise every integration. Values are data and may start with anything
  ("+49 30 …", "-5", "@handle"): the CSV export neutralises formula-looking cells instead
  (contacts/csv_export.py `escape_cell`, applied to header cells too).
- Numbers: finite only (`NaN`, `Infinity` and overflowing literals like `1e400` are refused:
  PostgreSQL's JSON rejects them and SQLite stores them as null), and integers within
  ±(2**53 − 1), the range every JSON parser reads exactly (RFC 7493, I-JSON).
"""
import math
import re
from dataclasses import dataclass
from typing import Any

CONTROL_CHARACTERS = "Use visible characters only (no control characters)."
INVALID_UNICODE = "Text is not valid Unicode."

# Unicode category Cc (C0, DEL, C1) and Cs (lone surrogates), spelled as regex classes so the
# check runs in C: a bulk upsert checks every field of 1,000 rows.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROLS_BUT_LINE_BREAKS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATES = re.compile("[\ud800-\udfff]")

NON_FINITE_NUMBER = ("Numbers must be finite: NaN, Infinity and values too large for a 64-bit "
                     "float (such as 1e400) are not allowed.")
CUSTOM_KEY_MAX = 64
CUSTOM_VALUE_MAX = 2000
FORMULA_LEADERS = ("=", "+", "-", "@")
MAX_SAFE_INTEGER = 2**53 - 1
MAX_JSON_DEPTH = 32


def has_control_characters(text: str, allow_newlines: bool = False) -> bool:
    """True if `text` holds a control character or a lone surrogate; `allow_newlines` lets
    tab, line feed and carriage return through (multi-line free text)."""
    if text.isprintable():  # no Cc/Cs at all (the common case, and ~10× cheaper than a regex)
        return False
    pattern = _CONTROLS_BUT_LINE_BREAKS if allow_newlines else _CONTROLS
    return pattern.search(text) is not None


def without_control_characters(text: str) -> str:
    """`text` with every control character and lone surrogate removed (for search boxes, where
    dropping them beats refusing the query)."""
    return _CONTROLS.sub("", text)


def text_problem(text: str, allow_newlines: bool = True) -> str | None:
    """Why `text` cannot be stored, or None."""
    if not has_control_characters(text, allow_newlines):
        return None
    return INVALID_UNICODE if _SURROGATES.search(text) else CONTROL_CHARACTERS


def check_text(text: str) -> str:
    """`text` unchanged, or ValueError (for pydantic validators): free text, line breaks allowed."""
    problem = text_problem(text)
    if problem:
        raise ValueError(problem)
    return text


def number_problem(value: int | float) -> str | None:
    """Why a JSON number cannot be stored, or None (bools are not numbers here)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return NON_FINITE_NUMBER
    if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
        return (f"Integers must be between -{MAX_SAFE_INTEGER:,} and {MAX_SAFE_INTEGER:,} "
                "(larger ones lose precision in most JSON parsers); send it as a string.")
    return None


# ---- custom fields --------------------------------------------------------------------------

def custom_key_problem(key: Any) -> str | None:
    """Why `key` is not a usable custom-field name, or None."""
    if not isinstance(key, str):
        return "A field name must be text."
    if not key.strip():
        return "A field name cannot be empty."
    if len(key) > CUSTOM_KEY_MAX:
        return f"A field name has at most {CUSTOM_KEY_MAX} characters."
    if has_control_characters(key):
        return INVALID_UNICODE if _SURROGATES.search(key) else CONTROL_CHARACTERS
    if key.lstrip().startswith(FORMULA_LEADERS):
        return ("A field name may not start with =, +, - or @ (spreadsheets would run it as a "
                "formula).")
    return None


def custom_value_problem(value: Any) -> str | None:
    """Why `value` cannot be a custom-field value (text, number, true/false or null), or None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        if len(value) > CUSTOM_VALUE_MAX:
            return f"A value has at most {CUSTOM_VALUE_MAX:,} characters."
        return text_problem(value)
    if isinstance(value, (int, float)):
        return number_problem(value)
    return "A value must be text, a number, true/false or null (not a list or an object)."


def check_custom_key(key: str) -> str:
    problem = custom_key_problem(key)
    if problem:
        raise ValueError(problem)
    return key


def check_custom_value(value: Any) -> Any:
    problem = custom_value_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# ---- whole JSON documents -------------------------------------------------------------------

@dataclass(frozen=True)
class TreeProblem:
    """Where a JSON document breaks a rule (`path` like "contacts.3.custom_fields.n")."""

    path: str
    message: str
    too_deep: bool = False


def json_tree_problem(value: Any, max_depth: int = MAX_JSON_DEPTH) -> TreeProblem | None:
    """The first thing in a parsed JSON document that no field may hold (deep nesting, control
    characters in keys or text, non-finite or imprecise numbers), or None. Recursion stops at
    `max_depth`, so a hostile body cannot exhaust the stack."""
    return _tree_problem(value, "", 1, max_depth)


def _tree_problem(node: Any, where: str, depth: int, max_depth: int) -> TreeProblem | None:
    # Exact type checks, in order of frequency: this walks every value of a 1,000-row bulk body.
    kind = type(node)
    if kind is str:
        problem = None if node.isprintable() else text_problem(node)
        return TreeProblem(where, problem) if problem else None
    if kind is dict or kind is list:
        if depth >= max_depth and node:  # its children would be nested too deep
            return TreeProblem(where, f"The JSON document is nested more than {max_depth} "
                                      "levels deep.", too_deep=True)
        items = node.items() if kind is dict else enumerate(node)
        for key, child in items:
            child_path = f"{where}.{key}" if where else str(key)
            if kind is dict and type(key) is str and not key.isprintable() and (
                    problem := text_problem(key, allow_newlines=False)):
                return TreeProblem(child_path, problem)
            if type(child) is str and child.isprintable():
                continue  # the common leaf, without a call
            if found := _tree_problem(child, child_path, depth + 1, max_depth):
                return found
        return None
    if kind is float or kind is int:
        problem = number_problem(node)
        return TreeProblem(where, problem) if problem else None
    return None
