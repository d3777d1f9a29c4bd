"""Request ids (errorlog.py): a client's well-formed X-Request-Id is kept on /api, /mcp and the
UI, anything else is replaced by ours; the id is in the problem body, the key's request log and
every log line written while the request runs."""
import logging
import re

import pytest
from sqlalchemy import select

from sureapp.errorlog import LOG_FORMAT
from sureapp.extensions import db
from sureapp.models import ApiRequestLog
from sureapp.usage.recorder import get_recorder

OURS = re.compile(r"[0-9a-f]{32}")
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


@pytest.fixture
def key(workspace_with_owner, make_key):
    return make_key(workspace_with_owner)[1]


@pytest.fixture
def workspace_with_owner(make_user, make_org):
    return make_org(make_user())[1]


def _calls(client, key, rid):
    headers = {"X-API-Key": key, "X-Request-Id": rid}
    return {
        "api": client.get("/api/v1/me", headers=headers),
        "api problem": client.get("/api/v1/contacts/00000000-0000-0000-0000-000000000000",
                                  headers=headers),
        "mcp": client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                           headers={**headers, **MCP_HEADERS}),
        "ui": client.get("/login", headers={"X-Request-Id": rid}),
    }


@pytest.mark.parametrize("rid", ["req_8f14e45fceea167a5a36dedd4bea2543",
                                 "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
                                 "trace:abc/def+ghi=@x.y", "a" * 128])
def test_a_well_formed_client_id_is_kept_everywhere(client, key, rid):
    for name, response in _calls(client, key, rid).items():
        assert response.headers["X-Request-Id"] == rid, name
    problem = _calls(client, key, rid)["api problem"]
    assert problem.status_code == 404 and problem.get_json()["request_id"] == rid


@pytest.mark.parametrize("rid", ["has space", "a" * 129, "-leading-dash", "quote\"d", "semi;colon",
                                 "ünïcode", "", "tab\there"])
def test_anything_else_is_replaced_by_our_own_id(client, key, rid):
    for name, response in _calls(client, key, rid).items():
        assert OURS.fullmatch(response.headers["X-Request-Id"]), (name, rid)
        assert response.headers["X-Request-Id"] != rid


def test_every_problem_carries_the_request_id_of_its_response(client, key):
    responses = [client.get("/api/v1/me"),  # 401
                 client.get("/api/v1/nowhere", headers={"X-API-Key": key}),  # 404 (routing)
                 client.post("/api/v1/contacts", data="{", content_type="application/json",
                             headers={"X-API-Key": key})]  # 400
    for response in responses:
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["request_id"] == response.headers["X-Request-Id"]


def test_the_request_log_keeps_each_requests_id(app, client, key):
    first = client.get("/api/v1/me", headers={"X-API-Key": key, "X-Request-Id": "mine-1"})
    second = client.get("/api/v1/me", headers={"X-API-Key": key})
    client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                headers={"X-API-Key": key, "X-Request-Id": "mine-2", **MCP_HEADERS})
    get_recorder(app).flush()
    rows = db.session.scalars(select(ApiRequestLog).order_by(ApiRequestLog.id)).all()
    assert [r.request_id for r in rows] == ["mine-1", second.headers["X-Request-Id"], "mine-2"]
    assert first.headers["X-Request-Id"] == "mine-1"


def test_every_log_line_of_a_request_names_its_id(app, client, key, caplog, monkeypatch):
    from sureapp.keyauth import context

    noisy = logging.getLogger("sureapp.test")
    original = context.KeyContext.allows

    def allows_and_logs(self, ability, *args, **kwargs):
        noisy.warning("checking %s", ability)
        return original(self, ability, *args, **kwargs)

    monkeypatch.setattr(context.KeyContext, "allows", allows_and_logs)
    with caplog.at_level(logging.INFO):
        response = client.get("/api/v1/me", headers={"X-API-Key": key, "X-Request-Id": "rid-42"})
    assert response.status_code == 200
    lines = [r for r in caplog.records if r.name == "sureapp.test"]
    assert lines and all(r.request_id == "rid-42" for r in lines)
    assert "[request rid-42] checking read" in logging.Formatter(LOG_FORMAT).format(lines[0])
    # Outside a request (CLI, background threads) the id is "-".
    assert logging.getLogRecordFactory()("x", logging.INFO, __file__, 1, "m", (), None).request_id == "-"


def test_the_sureapp_logger_prints_the_request_id(app):
    handlers = logging.getLogger("sureapp").handlers
    assert any(getattr(h.formatter, "_fmt", "") == LOG_FORMAT for h in handlers)
