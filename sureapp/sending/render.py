"""Per-contact rendering of what a user writes: merge tags and spintax, never a template engine.

- Merge tags: `{{ first_name }}`, `{{ first_name | default: "there" }}` (the default is used when
  the value is missing or blank). Only the names in MERGE_TAGS exist; anything else inside
  `{{ … }}` is an error `problems()` reports when the text is saved, so a send never meets one.
- Spintax: `{Hi|Hello|Hey}` picks one alternative; groups nest (`{Hi|{Hello|Hey} there}`) and may
  hold merge tags. The pick is deterministic per `seed` (campaign id + contact id), so a
  contact's mail reads the same on every retry and preview. A brace group without a top-level
  `|` is plain text (CSS `a { color: red }`, JSON), and so is a `{` that never closes.
- Values are inserted as text: they are never parsed again (a first name of `{a|b}` or
  `{{ email }}` stays literally that) and, for HTML, they are escaped. User text never reaches
  Jinja, so there is nothing to inject.
"""
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from markupsafe import escape

from ..errors import ValidationFailed

# Contact fields and the links the sender adds; the one list a template may name.
CONTACT_TAGS = ("email", "first_name", "last_name", "full_name", "company", "job_title", "phone")
LINK_TAGS = ("unsubscribe_url", "preferences_url")
MERGE_TAGS = CONTACT_TAGS + LINK_TAGS

_TAG = re.compile(r"""\{\{\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*
                      (?:\|\s*default\s*:\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')\s*)?\}\}""",
                  re.VERBOSE)
MAX_DEPTH = 20  # nesting of braces; deeper is surely a mistake (and it bounds the recursion)


class TemplateProblem(ValueError):
    """The text cannot be rendered; `message` says where and why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class _Tag:
    name: str
    default: str


@dataclass(frozen=True)
class _Spin:
    alternatives: tuple[tuple, ...]  # each a sequence of nodes (str, _Tag, _Spin)


def _tokens(text: str, problems: list[str]) -> list:
    """Text, merge tags and the spintax marks ("{", "|", "}" with their positions), in order."""
    tokens: list = []
    i = plain = 0
    while i < len(text):
        char = text[i]
        if char not in "{|}":
            i += 1
            continue
        if plain < i:
            tokens.append(text[plain:i])
        if text.startswith("{{", i):
            match = _TAG.match(text, i)
            if match is None:
                end = text.find("}}", i + 2)
                shown = text[i:end + 2] if end != -1 and end - i < 60 else text[i:i + 40] + "…"
                problems.append(f"{shown} is not a merge tag: write {{{{ first_name }}}} or "
                                f'{{{{ first_name | default: "there" }}}}.')
                tokens.append(shown)
                i = end + 2 if end != -1 else len(text)
            else:
                if match["name"] not in MERGE_TAGS:
                    problems.append(f"{{{{ {match['name']} }}}} is not a merge tag we know; use "
                                    f"one of {', '.join(MERGE_TAGS)}.")
                default = match["dq"] if match["dq"] is not None else (match["sq"] or "")
                tokens.append(_Tag(match["name"], default))
                i = match.end()
        else:
            tokens.append((char, i))
            i += 1
        plain = i
    if plain < len(text):
        tokens.append(text[plain:])
    return tokens


def _parse(text: str) -> tuple[tuple, list[str]]:
    """The text as nodes, and every problem found (an empty list: renderable). One pass pairs
    the braces (an unpaired one is text), a second builds the groups: linear in the text."""
    problems: list[str] = []
    tokens = _tokens(text, problems)
    partner: dict[int, int] = {}  # token index of "{" → of its "}"
    stack: list[int] = []
    deepest = 0
    for index, token in enumerate(tokens):
        if isinstance(token, tuple) and token[0] == "{":
            stack.append(index)
            deepest = max(deepest, len(stack))
        elif isinstance(token, tuple) and token[0] == "}" and stack:
            partner[stack.pop()] = index
    if stack:
        first_open = tokens[stack[0]][1]
        bar_after = any(isinstance(t, tuple) and t[0] == "|" and t[1] > first_open
                        for t in tokens[stack[0]:])
        if bar_after:
            problems.append(f"The spintax group that starts with {text[first_open:first_open + 30]}"
                            " is never closed with }.")
    if deepest > MAX_DEPTH:
        problems.append(f"Braces are nested more than {MAX_DEPTH} levels deep.")
    if problems:
        return (), list(dict.fromkeys(problems))

    def build(start: int, stop: int, inside: bool) -> list[tuple]:
        """Tokens[start:stop] as alternatives (split at this level's "|" when inside a group)."""
        alternatives: list[list] = [[]]
        index = start
        while index < stop:
            token = tokens[index]
            if isinstance(token, tuple) and token[0] == "{" and index in partner:
                close = partner[index]
                inner = build(index + 1, close, inside=True)
                alternatives[-1].append(_Spin(tuple(map(tuple, inner))) if len(inner) > 1
                                        else _Spin((("{", *inner[0], "}"),)))
                index = close + 1
                continue
            if isinstance(token, tuple) and token[0] == "|" and inside:
                alternatives.append([])
            elif isinstance(token, tuple):
                alternatives[-1].append(token[0])  # an unpaired brace, or a "|" outside groups
            else:
                alternatives[-1].append(token)
            index += 1
        return alternatives

    return tuple(build(0, len(tokens), inside=False)[0]), []


def problems(text: str) -> list[str]:
    """What is wrong with a template (unknown or malformed merge tags, unclosed spintax); []
    when it renders. Call it when the text is saved."""
    return _parse(text)[1]


def check(fields: Mapping[str, str]) -> None:
    """ValidationFailed naming each field whose template has problems (subject, body…)."""
    errors = {name: found for name, text in fields.items() if text and (found := problems(text))}
    if errors:
        raise ValidationFailed(errors, "Some merge tags or spintax cannot be rendered.")


def tags_used(text: str) -> set[str]:
    """The merge tag names a template uses (a sender adds the links only when asked for)."""
    return {m["name"] for m in _TAG.finditer(text)}


def _choice(seed: str, index: int, count: int) -> int:
    digest = hashlib.sha256(f"{seed}\x00{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def render(template: str, values: Mapping[str, object], *, seed: str, html: bool = False) -> str:
    """The template for one recipient: merge tags replaced by `values` (missing or blank →
    the tag's default, else ""), one alternative of each spintax group picked by `seed`.
    `html=True` escapes the values for an HTML body. TemplateProblem if the template has
    problems (check them at save time with `problems`)."""
    nodes, found = _parse(template)
    if found:
        raise TemplateProblem(found[0])
    out: list[str] = []
    counter = [0]  # groups numbered in document order: each picks independently

    def emit(items) -> None:
        for node in items:
            if isinstance(node, str):
                out.append(node)
            elif isinstance(node, _Tag):
                value = values.get(node.name)
                text = "" if value is None else str(value)
                if text.strip():
                    out.append(str(escape(text)) if html else text)
                else:
                    out.append(node.default)
            else:
                index = counter[0]
                counter[0] += 1
                alternatives = node.alternatives
                pick = 0 if len(alternatives) == 1 else _choice(seed, index, len(alternatives))
                emit(alternatives[pick])

    emit(nodes)
    return "".join(out)


def contact_values(contact) -> dict[str, str]:
    """The contact's merge-tag values (the links are added by whoever sends)."""
    full_name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    return {"email": contact.email, "first_name": contact.first_name,
            "last_name": contact.last_name, "full_name": full_name, "company": contact.company,
            "job_title": contact.job_title, "phone": contact.phone}
