"""The ability-string grammar (keys/abilities.py) and the IP allowlist (keys/allowlist.py)."""
import pytest

from sureapp.keys import abilities, allowlist
from sureapp.keys.abilities import InvalidAbilities, grants, normalize, summarize
from sureapp.keys.allowlist import InvalidAllowlist, permits


# ---- abilities ------------------------------------------------------------------------------

@pytest.mark.parametrize("given, stored", [
    (["read"], "read"),
    (["DELETE", " read ", "read"], "read,delete"),
    ("lists:write,contacts:read", "contacts:read,lists:write"),
    (["Contacts:Read", "contacts:delete", "contacts:write"],
     "contacts:read,contacts:write,contacts:delete"),
    # A scope the whole-workspace ability already covers is dropped; others stay.
    (["contacts:read", "read", "contacts:write"], "read,contacts:write"),
    (["webhooks:delete", "reports:read", "write"], "write,reports:read,webhooks:delete"),
])
def test_normalize_gives_the_canonical_string(given, stored):
    assert normalize(given) == stored
    assert normalize(stored) == stored  # idempotent


@pytest.mark.parametrize("given, words", [
    ([], "Choose at least one ability."),
    (["", "  "], "Choose at least one ability."),
    (["admin"], "Unknown ability 'admin': use read, write or delete"),
    (["contacts"], "'contacts' is a resource, not an ability: write contacts:read"),
    (["contact:read"], "Unknown resource 'contact' in 'contact:read': use one of contacts, lists"),
    (["contacts:admin"], "Unknown ability 'admin' in 'contacts:admin'"),
    (["contacts:read:write"], "Unknown ability 'read:write'"),
    ([":read"], "Unknown resource ''"),
    (["key:read"], "Unknown resource 'key'"),  # KEY_ITSELF is not grantable: every key has it
    (["read"] * 65, "at most 64"),
])
def test_bad_abilities_are_refused_in_words(given, words):
    with pytest.raises(InvalidAbilities) as refused:
        normalize(given)
    assert words in str(refused.value)


def test_the_longest_canonical_string_fits_the_column():
    from sureapp.models import ApiKey

    every = normalize(abilities.ALL_SCOPES)
    assert len(every.split(",")) == 21
    assert len(every) <= ApiKey.__table__.c.abilities.type.length


def test_grants():
    restricted = ("contacts:read", "lists:write")
    assert grants(restricted, "read", "contacts")
    assert not grants(restricted, "read", "lists")
    assert not grants(restricted, "write", "contacts")
    assert not grants(restricted, "read")  # every resource: not held
    assert grants(restricted, "delete", abilities.KEY_ITSELF)
    assert grants(("read",), "read", "webhooks") and grants(("read",), "read")
    assert not grants(("read",), "write", "contacts")
    # write never implies read
    assert not grants(("contacts:write",), "read", "contacts")


def test_summaries_name_the_resources():
    badges = summarize(("contacts:read", "lists:read", "tags:read", "lists:write"))
    assert [(b.label, b.detail) for b in badges] == [
        ("Read · 3 resources", "Read: Contacts, Lists, Tags"),
        ("Write · Lists", "Write: Lists"),
    ]
    assert [b.label for b in summarize(("read", "delete", "contacts:write"))] == [
        "Read", "Write · Contacts", "Delete"]


# ---- allowlists ------------------------------------------------------------------------------

@pytest.mark.parametrize("given, stored", [
    ("", ""),
    (None, ""),
    ("203.0.113.7", "203.0.113.7"),
    ("203.0.113.0/24, 2001:DB8::/32\n198.51.100.1/32", "198.51.100.1,203.0.113.0/24,2001:db8::/32"),
    (["2001:db8:0:0::1", "203.0.113.7", "203.0.113.7"], "203.0.113.7,2001:db8::1"),
    ("10.0.0.0/8;192.168.1.0/24\t::1", "10.0.0.0/8,192.168.1.0/24,::1"),
])
def test_allowlists_are_stored_normalised(given, stored):
    assert allowlist.normalize(given) == stored
    assert allowlist.normalize(stored) == stored


@pytest.mark.parametrize("given, words", [
    ("203.0.113.300", "'203.0.113.300' is not an IPv4/IPv6 address or CIDR range"),
    ("example.com", "'example.com' is not an IPv4/IPv6 address"),
    ("203.0.113.7/24", "did you mean 203.0.113.0/24?"),
    ("2001:db8::1/32", "did you mean 2001:db8::/32?"),
    ("0.0.0.0/0", "allows every address; leave the list empty instead"),
    ("::/0", "allows every address"),
    ("10.0.0.0/33", "is not an IPv4/IPv6 address or CIDR range"),
    (",".join(f"10.0.{i}.1" for i in range(101)), "at most 100"),
])
def test_bad_allowlists_are_refused_in_words(given, words):
    with pytest.raises(InvalidAllowlist) as refused:
        allowlist.normalize(given)
    assert words in str(refused.value)


def test_permits():
    stored = allowlist.normalize("203.0.113.0/24,2001:db8::/32,198.51.100.9")
    for inside in ("203.0.113.1", "203.0.113.255", "198.51.100.9", "2001:db8::1",
                   "2001:db8:ffff::5", "::ffff:203.0.113.8", "2001:db8::1%eth0"):
        assert permits(stored, inside), inside
    for outside in ("203.0.114.1", "198.51.100.10", "2001:db9::1", "::1", "127.0.0.1",
                    "::ffff:10.0.0.1", "", None, "unknown", "203.0.113.1, 10.0.0.1"):
        assert not permits(stored, outside), outside
    assert permits("", "192.0.2.1") and permits("", None)  # no list: any address
