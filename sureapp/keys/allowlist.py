"""IP allowlists per key: parse what a person typed, store it normalised, match a client address.

An allowlist is a set of IPv4/IPv6 addresses and CIDR ranges; empty means "from anywhere".
Stored as one comma-separated string (api_keys.allowed_ips) of the compressed forms, IPv4
first, each family in address order, without duplicates: `203.0.113.0/24,2001:db8::/32`.
A single address is stored without a prefix length. The client address is the one the app's
ProxyFix settings give (`request.remote_addr`: PROXY_FIX_X_FOR trusted proxies, else the TCP
peer), so a forged X-Forwarded-For counts only where a proxy is trusted to set it.
"""
import ipaddress
from collections.abc import Iterable
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_ENTRIES = 100
SEPARATORS = ",;\n\r\t "


class InvalidAllowlist(ValueError):
    """An entry that is not an address or range; the message names it and says why."""


def _entries(values: Iterable[str] | str) -> list[str]:
    if isinstance(values, str):
        values = [values]
    text = ",".join(v for v in values if v)
    for separator in SEPARATORS[1:]:
        text = text.replace(separator, ",")
    return [entry for entry in text.split(",") if entry]


def _parse_one(entry: str) -> Network:
    try:
        network = ipaddress.ip_network(entry, strict=True)
    except ValueError as error:
        if "has host bits set" in str(error):
            loose = ipaddress.ip_network(entry, strict=False)
            raise InvalidAllowlist(f"'{entry}' is not the start of its range: did you mean "
                                   f"{loose.with_prefixlen}?") from None
        raise InvalidAllowlist(f"'{entry}' is not an IPv4/IPv6 address or CIDR range "
                               "(e.g. 203.0.113.7, 203.0.113.0/24, 2001:db8::/32).") from None
    if network.prefixlen == 0:
        raise InvalidAllowlist(f"'{entry}' allows every address; leave the list empty instead.")
    return network


def _text(network: Network) -> str:
    single = network.prefixlen == network.max_prefixlen
    return str(network.network_address) if single else network.with_prefixlen


def normalize(values: Iterable[str] | str | None) -> str:
    """The stored form of an allowlist typed as lines, commas or spaces (or a list of entries);
    "" for none. Raises InvalidAllowlist naming the first bad entry."""
    entries = _entries(values or [])
    if len(entries) > MAX_ENTRIES:
        raise InvalidAllowlist(f"Give at most {MAX_ENTRIES} addresses or ranges "
                               f"(this list has {len(entries)}).")
    networks = {_parse_one(entry) for entry in entries}
    ordered = sorted(networks, key=lambda n: (n.version, n.network_address, n.prefixlen))
    return ",".join(_text(n) for n in ordered)


@lru_cache(maxsize=1024)
def _networks(stored: str) -> tuple[Network, ...]:
    """A stored allowlist parsed once per process (keyed requests repeat the same few)."""
    return tuple(ipaddress.ip_network(entry) for entry in stored.split(",") if entry)


def permits(stored: str, client_ip: str | None) -> bool:
    """Whether a key with the allowlist `stored` may be used from `client_ip`. An empty list
    permits every address; an unparsable client address is never permitted by a list."""
    if not stored:
        return True
    try:
        address = ipaddress.ip_address((client_ip or "").split("%", 1)[0])
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:203.0.113.7 is the IPv4 client 203.0.113.7
    return any(address in network for network in _networks(stored)
               if network.version == address.version)
