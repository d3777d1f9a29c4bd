"""The SSRF rule: which URLs the server may request, and where it connects."""
import pytest

from sureapp.netguard import UnsafeURL, is_public_address, parse_url, resolve_target


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
    "100.64.0.1", "100.127.255.254", "0.0.0.0", "224.0.0.251", "239.255.255.250",
    "240.0.0.1", "255.255.255.255", "198.18.0.1", "192.0.2.10", "::1", "::", "fe80::1",
    "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "64:ff9b::7f00:1", "2002:7f00:1::", "2001:db8::1", "not-an-ip",
])
def test_non_public_addresses_are_refused(address):
    assert is_public_address(address) is False


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111",
                                     "::ffff:8.8.8.8", "100.128.0.1"])
def test_public_addresses_pass(address):
    assert is_public_address(address) is True


@pytest.mark.parametrize("url, message", [
    ("ftp://example.com/x", "http:// or https://"),
    ("file:///etc/passwd", "http:// or https://"),
    ("gopher://127.0.0.1:6379/_x", "http:// or https://"),
    ("https://user:pw@example.com/", "user name or password"),
    ("https:///nohost", "host name"),
    ("https://example.com/a b", "spaces"),
    ("https://example.com/\u202egnp.exe", "invisible"),  # a bidi override
    ("https://exa\u200bmple.com/", "invisible"),  # zero-width space
    ("https://example.com:99999/", "not a valid URL"),
    ("https://2130706433/", "four decimal numbers"),  # 127.0.0.1 in decimal
    ("https://0x7f000001/", "four decimal numbers"),
    ("https://0177.0.0.1/", "four decimal numbers"),  # octal
    ("https://127.1/", "four decimal numbers"),
    ("https://example.com/#frag", "fragment"),
    ("https://[fe80::1%25eth0]/", "IPv6"),
    ("", "Enter a URL"),
])
def test_malformed_and_disguised_urls_are_refused_before_any_lookup(url, message):
    with pytest.raises(UnsafeURL, match=message):
        parse_url(url)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://LOCALHOST./hook",
    "http://[::1]/hook", "http://[::ffff:127.0.0.1]/hook", "http://10.1.2.3/hook",
    "http://169.254.169.254/latest/meta-data/", "http://100.64.1.1/",
])
def test_names_and_addresses_resolving_to_private_ranges_are_refused(url):
    with pytest.raises(UnsafeURL, match="not a public internet address"):
        resolve_target(url)


def test_a_host_name_resolving_to_loopback_is_refused_and_allowed_when_private_urls_are():
    with pytest.raises(UnsafeURL, match="localhost resolves to"):
        resolve_target("https://localhost:8443/hooks")
    target = resolve_target("https://localhost:8443/hooks?x=1", allow_private=True)
    assert target.host == "localhost" and target.port == 8443 and target.path == "/hooks?x=1"
    assert "127.0.0.1" in target.addresses or "::1" in target.addresses
    assert target.host_header == "localhost:8443"


def test_a_name_that_does_not_resolve_is_refused():
    with pytest.raises(UnsafeURL, match="does not resolve"):
        resolve_target("https://no-such-host.invalid/hook")


def test_a_public_address_literal_is_allowed_without_dns():
    target = resolve_target("https://93.184.215.14/hook")
    assert target.addresses == ("93.184.215.14",) and target.host_header == "93.184.215.14"
