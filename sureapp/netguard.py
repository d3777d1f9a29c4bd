"""The SSRF rule for URLs the server itself requests (webhook endpoints, OAuth Client ID
Metadata Documents): http(s) only, and every address the host resolves to is public.

`check_url` is asked twice: when the URL is saved (a clear refusal for the form or the 422) and
right before each request (`resolve_target`), because a name may resolve elsewhere by then (DNS
rebinding). The caller then connects to the address that was checked, never resolving the name
again. `allow_private=True` (WEBHOOK_ALLOW_PRIVATE_URLS=1: intranets, tests) lifts the address
rule but not the scheme and shape rules.
"""
import http.client
import ipaddress
import re
import socket
import ssl
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import DomainError

MAX_URL_LENGTH = 2048
_INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Cs"})
# Addresses that wrap an IPv4 address (its real destination is that address).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
# Anything that looks numeric, hexadecimal or dotted with fewer than four parts: inet_aton
# (and so getaddrinfo) reads "2130706433", "0x7f.1", "0177.0.0.1" or "127.1" as 127.0.0.1.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*\.?$", re.IGNORECASE)


class UnsafeURL(DomainError):
    """The URL may not be requested by the server (scheme, shape or a non-public address)."""


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to `addresses` (in order), send `host` as the Host header / SNI."""

    scheme: str
    host: str  # IDNA-encoded, lower case; IPv6 without brackets
    port: int
    path: str  # path and query, never empty ("/")
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def is_public_address(address: str) -> bool:
    """Is this IP address one anybody on the internet could reach? Refuses loopback, private,
    link-local, CGNAT (100.64/10), multicast, reserved, unspecified and documentation ranges,
    and IPv6 forms that carry such an IPv4 address (mapped, NAT64, 6to4, Teredo)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # Mapped and NAT64 addresses reach the IPv4 address inside: judge that one alone.
        if ip.ipv4_mapped is not None:
            return is_public_address(str(ip.ipv4_mapped))
        if ip in _NAT64_LOCAL:  # local-use translation: an internal network by definition
            return False
        if ip in _NAT64:
            return is_public_address(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
        # 6to4 and Teredo go through a relay, but must not carry a private address either.
        embedded = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback
                                 or ip.is_link_local or ip.is_unspecified or ip.is_private)


def normalize_host(raw: str) -> str:
    """A host name (IDNA-encoded, lower case) or IP address as the server would dial it, or
    UnsafeURL saying what is wrong; shared by URLs and bare hosts (SMTP servers)."""
    host = raw.rstrip(".")
    if not host:
        raise UnsafeURL("The URL needs a host name.")
    if any(unicodedata.category(c) in _INVISIBLE for c in host) or "/" in host:
        raise UnsafeURL("The host name is not valid.")
    if ":" not in host:  # a name or an IPv4 address
        if _NUMERIC_HOST.match(host):
            try:
                host = str(ipaddress.IPv4Address(host))  # dotted decimal, four parts, no zeros
            except ValueError:
                raise UnsafeURL("Write an IPv4 address as four decimal numbers (e.g. "
                                "203.0.113.7).") from None
            if host != raw.rstrip("."):
                raise UnsafeURL("Write an IPv4 address as four decimal numbers (e.g. 203.0.113.7).")
            return host
        try:
            return host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise UnsafeURL("The host name is not valid.") from None
    if "%" in host:
        raise UnsafeURL("An IPv6 zone id is not allowed.")
    try:
        return str(ipaddress.IPv6Address(host))
    except ValueError:
        raise UnsafeURL("The IPv6 address is not valid.") from None


def parse_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an http(s) URL, or UnsafeURL saying what is wrong. No
    network access: what a form can check as you type."""
    if not isinstance(url, str) or not url.strip():
        raise UnsafeURL("Enter a URL.")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURL(f"Use at most {MAX_URL_LENGTH} characters.")
    # Spaces, controls and invisible formatting (bidi overrides, zero-width) would make the URL
    # shown in the UI differ from the one requested.
    if any(unicodedata.category(c) in _INVISIBLE for c in url):
        raise UnsafeURL("A URL cannot contain spaces, control or invisible characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeURL("This is not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeURL("Use an http:// or https:// URL.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("A URL with a user name or password is not allowed; use the signing "
                        "secret to authenticate deliveries.")
    if parts.fragment:
        raise UnsafeURL("Remove the #fragment: it is never sent to the server.")
    host = normalize_host(parts.hostname or "")
    if port == 0:
        raise UnsafeURL("Port 0 is not a valid port.")
    port = port or (443 if scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, host, port, path


def resolve_target(url: str, *, allow_private: bool = False) -> Target:
    """Check `url` and resolve its host; UnsafeURL unless every address is public (or
    `allow_private`). Connect to the returned addresses, not to the name."""
    scheme, host, port, path = parse_url(url)
    return Target(scheme, host, port, path, resolve_addresses(host, port,
                                                              allow_private=allow_private))


def resolve_addresses(host: str, port: int, *, allow_private: bool = False) -> tuple[str, ...]:
    """The addresses a checked host resolves to (connect to these, not to the name again);
    UnsafeURL unless every one is public (or `allow_private`)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeURL(f"The host name {host} does not resolve.") from None
    addresses = tuple(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise UnsafeURL(f"The host name {host} does not resolve.")
    if not allow_private:
        refused = [a for a in addresses if not is_public_address(a)]
        if refused:
            raise UnsafeURL(f"{host} resolves to {refused[0]}, which is not a public internet "
                            "address (loopback, private, link-local, shared or reserved "
                            "ranges are refused).")
    return addresses


def connection(target: Target, address: str, timeout: float) -> http.client.HTTPConnection:
    """An HTTP(S) connection to `address`, one of the checked `target.addresses`: the Host
    header and the TLS name (verified) stay the URL's host. Never resolves the name again."""
    base = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection

    class PinnedConnection(base):
        """Connects to `address`; Host header and TLS name stay the URL's host."""

        def connect(self):
            self.sock = socket.create_connection((address, self.port), self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if target.scheme == "https":
                self.sock = self._context.wrap_socket(self.sock, server_hostname=self.host)

    if target.scheme == "https":
        return PinnedConnection(target.host, target.port, timeout=timeout,
                                context=ssl.create_default_context())
    return PinnedConnection(target.host, target.port, timeout=timeout)
