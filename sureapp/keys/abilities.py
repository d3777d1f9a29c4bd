"""What a key may do, as ability strings: the grammar, its canonical form, and the one decision.

A key holds a set of ability strings:
- `read`, `write`, `delete` — that ability on every resource ("All resources");
- `RESOURCE:ABILITY` — that ability on one resource only (`contacts:read`, `lists:write`).
A restricted key holds only the second kind; the two kinds may also be mixed (read everything,
write contacts only: `read,contacts:write`). Abilities are independent: `write` does not imply
`read`, as before restricted keys.

Stored as one comma-separated string (api_keys.abilities) in canonical order: whole-workspace
abilities first, then resources in RESOURCES order, each in ABILITIES order; a scoped ability
that a whole-workspace one already covers is dropped. Services, forms, the CLI, keyauth and
the templates all go through this module; none of them splits or compares strings itself.
"""
from collections.abc import Iterable
from dataclasses import dataclass

from ..models import ABILITIES

RESOURCES = ("contacts", "lists", "tags", "campaigns", "automations", "reports", "webhooks")
RESOURCE_LABELS = {"contacts": "Contacts", "lists": "Lists", "tags": "Tags",
                   "campaigns": "Campaigns", "automations": "Automations",
                   "reports": "Reports", "webhooks": "Webhooks"}
# Operations about the calling key itself (GET /me, MCP describe_key): every key may run them,
# whatever it is restricted to, so an integration can always check which key it holds.
KEY_ITSELF = "key"
ABILITY_VERBS = {"read": "read", "write": "create or change", "delete": "delete"}
MAX_ENTRIES = 64  # more than every possible scope (7 × 3 + 3): anything longer is not a form's


class InvalidAbilities(ValueError):
    """Ability strings that cannot be granted; the message says why, in words."""


def scope(ability: str, resource: str) -> str:
    """'write', 'contacts' → 'contacts:write' (the string a restricted key holds)."""
    return f"{resource}:{ability}"


ALL_SCOPES = tuple(scope(a, r) for r in RESOURCES for a in ABILITIES)
_ORDER = {value: index for index, value in enumerate((*ABILITIES, *ALL_SCOPES))}


def _check_one(value: str) -> str:
    resource, colon, ability = value.partition(":")
    if not colon:
        if value in ABILITIES:
            return value
        if value in RESOURCES:
            raise InvalidAbilities(f"'{value}' is a resource, not an ability: write "
                                   f"{value}:read, {value}:write or {value}:delete.")
        raise InvalidAbilities(f"Unknown ability '{value}': use read, write or delete (every "
                               "resource) or RESOURCE:ABILITY such as contacts:read.")
    if resource not in RESOURCES:
        raise InvalidAbilities(f"Unknown resource '{resource}' in '{value}': use one of "
                               f"{', '.join(RESOURCES)}.")
    if ability not in ABILITIES:
        raise InvalidAbilities(f"Unknown ability '{ability}' in '{value}': use read, write or "
                               "delete.")
    return value


def normalize(values: Iterable[str] | str) -> str:
    """The canonical ability string for `values` (strings, or one comma-separated string):
    trimmed, lower-cased, known, deduplicated, covered scopes dropped, in canonical order.
    Raises InvalidAbilities naming the first bad value, or when nothing is chosen."""
    if isinstance(values, str):
        values = values.split(",")
    chosen = [v.strip().lower() for v in values if v and v.strip()]
    if len(chosen) > MAX_ENTRIES:
        raise InvalidAbilities(f"Give at most {MAX_ENTRIES} abilities.")
    if not chosen:
        raise InvalidAbilities("Choose at least one ability.")
    valid = {_check_one(v) for v in chosen}
    kept = {v for v in valid if v.partition(":")[2] not in valid}  # contacts:read under read
    return ",".join(sorted(kept, key=_ORDER.__getitem__))


def split(abilities: str) -> tuple[str, ...]:
    """A stored ability string as a tuple (what KeyContext holds)."""
    return tuple(abilities.split(",")) if abilities else ()


def grants(abilities: Iterable[str], ability: str, resource: str | None = None) -> bool:
    """Whether a key holding `abilities` may use `ability` on `resource`.

    `resource` None asks for the ability on every resource (only `read`/`write`/`delete`
    itself grants that); KEY_ITSELF is granted to every key. Hot path: two tuple lookups."""
    if ability in abilities:
        return True
    if resource is None:
        return False
    return resource == KEY_ITSELF or scope(ability, resource) in abilities


def expand(abilities: Iterable[str]) -> frozenset[str]:
    """Every RESOURCE:ABILITY the abilities grant today (`read` → each resource's read)."""
    held = set(abilities)
    return frozenset(s for s in ALL_SCOPES if s in held or s.partition(":")[2] in held)


def same_grants(chosen: Iterable[str], held: Iterable[str]) -> bool:
    """True if `chosen` (valid ability strings) grants exactly what `held` does on today's
    resources: the panel's grid shows `read` as every resource's read, and saving it unchanged
    must keep `read` (and not count as a change of abilities)."""
    return expand(chosen) == expand(held)


def is_restricted(abilities: Iterable[str]) -> bool:
    """True if some ability is limited to resources (the panel shows the grid)."""
    return any(":" in a for a in abilities)


@dataclass(frozen=True)
class AbilitySummary:
    """One badge: an ability and the resources it covers (None: all resources)."""

    ability: str
    resources: tuple[str, ...] | None

    @property
    def label(self) -> str:
        """'Read' for all resources, 'Read · 3 resources' / 'Read · Contacts' when restricted."""
        name = self.ability.title()
        if self.resources is None:
            return name
        if len(self.resources) == 1:
            return f"{name} · {RESOURCE_LABELS[self.resources[0]]}"
        return f"{name} · {len(self.resources)} resources"

    @property
    def detail(self) -> str:
        """In words, for a tooltip or the key page: 'Read: Contacts, Lists, Tags'."""
        covered = ("all resources" if self.resources is None
                   else ", ".join(RESOURCE_LABELS[r] for r in self.resources))
        return f"{self.ability.title()}: {covered}"


def summarize(abilities: Iterable[str]) -> list[AbilitySummary]:
    """One summary per ability the key holds anywhere, in ABILITIES order."""
    held = set(abilities)
    summaries = []
    for ability in ABILITIES:
        if ability in held:
            summaries.append(AbilitySummary(ability, None))
            continue
        resources = tuple(r for r in RESOURCES if scope(ability, r) in held)
        if resources:
            summaries.append(AbilitySummary(ability, resources))
    return summaries


def refusal_detail(ability: str, resource: str | None) -> str:
    """The 403 sentence for a key that lacks `ability` on `resource`."""
    verb = ABILITY_VERBS.get(ability, ability)
    if resource is None:
        return (f"This key lacks the '{ability}' ability on all resources, which this request "
                "needs.")
    return (f"This key may not {verb} {resource}: the request needs the "
            f"'{scope(ability, resource)}' scope (or the '{ability}' ability on all resources).")
