"""IP allowlists on /api and /mcp, tested as an attacker holding the key elsewhere: refused
with 403 from any other address (IPv4 and IPv6), and X-Forwarded-For counts only where
PROXY_FIX_X_FOR trusts a proxy to have set it."""
import json

import pytest

from sureapp.extensions import db
from sureapp.models import Contact

from tests.api.conftest import assert_problem

REFUSED = "This key may not be used from this address."
MCP_HEADERS = {"Accept": "application/json", "Content-Type": "application/json",
               "MCP-Protocol-Version": "2025-11-25"}


def _from(client, plaintext, address, path="/api/v1/me", method="GET", **kwargs):
    headers = {"X-API-Key": plaintext, **kwargs.pop("headers", {})}
    return client.open(path, method=method, headers=headers,
                       environ_base={"REMOTE_ADDR": address}, **kwargs)


@pytest.fixture
def fenced(make_key, workspace):
    return make_key(workspace, allowed_ips="203.0.113.0/24,2001:db8::/32")[1]


@pytest.mark.parametrize("address", ["203.0.113.9", "2001:db8::42", "::ffff:203.0.113.9"])
def test_a_listed_address_may_use_the_key(client, fenced, address):
    assert _from(client, fenced, address).status_code == 200


@pytest.mark.parametrize("address", ["198.51.100.9", "127.0.0.1", "2001:db9::1", "::1"])
def test_any_other_address_gets_403_and_nothing_is_written(client, fenced, address):
    body = assert_problem(_from(client, fenced, address), 403)
    assert body["detail"] == REFUSED
    response = _from(client, fenced, address, "/api/v1/contacts", "POST",
                     json={"email": "eve@example.com"})
    assert assert_problem(response, 403)["detail"] == REFUSED
    assert db.session.query(Contact).count() == 0


def test_a_refused_address_is_logged_on_the_key_with_reason_ip(app, client, make_key, workspace):
    from sureapp.models import ApiRequestLog
    from sureapp.usage.recorder import get_recorder

    key, plaintext = make_key(workspace, allowed_ips="2001:db8::/32")
    assert _from(client, plaintext, "2001:db9::5").status_code == 403
    assert _from(client, plaintext, "2001:db8::5").status_code == 200
    get_recorder(app).flush()
    rows = db.session.query(ApiRequestLog).filter_by(api_key_id=key.id).order_by(
        ApiRequestLog.id).all()
    assert [(r.client_ip, r.status, r.reason) for r in rows] == [
        ("2001:db9::5", 403, "ip"), ("2001:db8::5", 200, None)]
    assert db.session.get(type(key), key.id).last_used_at is not None  # only the real use


def test_x_forwarded_for_is_ignored_when_no_proxy_is_trusted(client, fenced):
    for forged in ("203.0.113.9", "203.0.113.9, 198.51.100.1", "2001:db8::1"):
        response = _from(client, fenced, "198.51.100.1", headers={"X-Forwarded-For": forged})
        assert assert_problem(response, 403)["detail"] == REFUSED


def test_the_address_is_refused_before_the_key_state_is_told(client, make_key, workspace):
    """From elsewhere, a revoked key looks like any fenced key: no hint about its state."""
    key, plaintext = make_key(workspace, allowed_ips="203.0.113.0/24")
    key.status = "revoked"
    db.session.commit()
    assert assert_problem(_from(client, plaintext, "198.51.100.1"), 403)["detail"] == REFUSED
    assert _from(client, plaintext, "203.0.113.1").status_code == 401


def test_mcp_refuses_another_address_too(client, fenced):
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    refused = _from(client, fenced, "198.51.100.1", "/mcp", "POST", data=json.dumps(message),
                    headers=MCP_HEADERS)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["message"] == REFUSED
    allowed = _from(client, fenced, "2001:db8::7", "/mcp", "POST", data=json.dumps(message),
                    headers=MCP_HEADERS)
    assert allowed.status_code == 200 and allowed.get_json()["result"]["tools"]


class TestBehindOneTrustedProxy:
    @pytest.fixture
    def app_config(self):
        return {"PROXY_FIX_X_FOR": 1}

    def test_the_client_address_is_the_one_the_proxy_appended(self, client, fenced):
        # The proxy (127.0.0.1) appends the address it saw: that one is the client.
        assert _from(client, fenced, "127.0.0.1",
                     headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 200
        # A client-forged value in front of the proxy's own entry changes nothing.
        forged = _from(client, fenced, "127.0.0.1",
                       headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.1"})
        assert assert_problem(forged, 403)["detail"] == REFUSED
