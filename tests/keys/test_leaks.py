"""Leaked-key reports (issue 18 part 6): POST /api/v1/leaked-keys revokes every active key
among the strings, says so in the audit trail, tells the managers, and cannot be used to probe
which strings are keys (same status, body and work either way), nor to flood."""
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from sureapp.extensions import db
from sureapp.keys import keystring, leaks, services
from sureapp.models import ApiKey, ApiKeyEvent, LeakReport, Role
from sureapp.timeutil import utcnow

URL = "/api/v1/leaked-keys"


@pytest.fixture
def setup(workspace_with_roles):
    return workspace_with_roles


def report(client, keys, source="github", url="https://github.com/acme/app/blob/main/.env",
           **headers):
    return client.post(URL, json={"keys": keys, "source": source, "url": url}, headers=headers)


def _key(key_id):
    db.session.expire_all()
    return db.session.get(ApiKey, key_id)


def test_a_reported_key_is_revoked_with_the_reason_in_its_audit_trail(
        app, client, setup, make_key, smtp_server):
    workspace, users = setup
    app.config["SMTP_URL"] = smtp_server.url()
    key, plaintext = make_key(workspace, name="Zapier", actor=users["member"])
    bystander, _ = make_key(workspace, name="Other")
    response = report(client, [plaintext])
    assert response.status_code == 202
    assert _key(key.id).status == "active"  # nothing on the request path
    assert leaks.process_reports() == 1
    assert _key(key.id).status == "revoked" and _key(bystander.id).status == "active"
    [event] = [e for e in services.key_events(_key(key.id)) if e.action == "revoked"]
    assert event.actor_label == "Leak report"
    assert event.changes == {"note": "reported as leaked (github, "
                                     "https://github.com/acme/app/blob/main/.env)"}
    # The managers (Manager, Org Admin, Owner) are mailed, and its creator (here a Member).
    told = {address for rcpts in smtp_server.recipients for address in rcpts}
    assert told == {"manager@example.com", "admin@example.com", "owner@example.com",
                    "member@example.com"}
    body = smtp_server.messages[0].get_content()
    assert "Zapier" in body and key.masked in body and plaintext not in body
    assert api_status(client, plaintext) == 401


def api_status(client, plaintext):
    return client.get("/api/v1/me", headers={"X-API-Key": plaintext}).status_code


def test_the_answer_is_the_same_whatever_the_strings_are(client, setup, make_key):
    workspace, _ = setup
    _, real = make_key(workspace)
    answers = [report(client, keys) for keys in (
        [real], [keystring.generate()], ["not a key at all"], ["sure" + "A" * 56])]
    assert {a.status_code for a in answers} == {202}
    assert len({a.get_data() for a in answers}) == 1
    assert len({tuple(sorted((k, v) for k, v in a.headers.items()
                             if k not in ("X-Request-Id", "Date"))) for a in answers}) == 1
    # Only digests of well-formed strings are kept; never a plaintext.
    stored = db.session.scalars(select(LeakReport).order_by(LeakReport.received_at)).all()
    assert [len(r.digests) for r in stored] == [1, 1, 0, 0]
    assert all(real not in str(r.digests) for r in stored)


def _statements_of(fn):
    seen = []

    def listen(conn, cursor, statement, params, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    return seen


class TestNoTimingOracle:
    @pytest.fixture
    def app_config(self):
        return {"LEAK_REPORT_RATE_LIMIT": "1000 per minute"}

    @pytest.mark.parametrize("other", ["unknown", "malformed", "revoked"])
    def test_a_key_and_a_non_key_cost_the_same_statements(self, client, setup, make_key, other):
        """Timing cannot tell them apart because the work is the same: one INSERT, whatever
        matched (revoking happens later, in the task). Wall-clock timings on a shared 2-core
        machine are noise; the statements are the cause, so they are what is compared."""
        workspace, _ = setup
        real_key, real = make_key(workspace)
        other_string = {"unknown": keystring.generate(), "malformed": "sure" + "A" * 56}.get(other)
        if other == "revoked":
            revoked, other_string = make_key(workspace)
            services.revoke_key(revoked, actor_label="test")
            db.session.commit()
        report(client, [keystring.generate()])  # warm up
        for_real = _statements_of(lambda: report(client, [real]))
        for_other = _statements_of(lambda: report(client, [other_string]))
        assert for_real == for_other and for_real  # the same SQL, in the same order
        assert _key(real_key.id).status == "active"  # nothing revoked on the request path


def test_an_old_string_in_its_grace_period_is_cut_short_and_the_key_lives(client, setup, make_key):
    workspace, _ = setup
    key, old = make_key(workspace)
    new = services.regenerate_key(key, timedelta(hours=24), actor_label="test")
    db.session.commit()
    report(client, [old])
    assert leaks.process_reports() == 1
    assert api_status(client, old) == 401 and api_status(client, new) == 200
    events = [e.action for e in services.key_events(_key(key.id))]
    assert events[0] == "grace_ended" and _key(key.id).status == "active"


def test_revoked_keys_and_other_workspaces_keys_are_handled_alike(client, setup, make_key,
                                                                  other_org_key):
    workspace, _ = setup
    revoked, plain_revoked = make_key(workspace)
    services.revoke_key(revoked, actor_label="test")
    db.session.commit()
    foreign_key, plain_foreign = other_org_key
    report(client, [plain_revoked, plain_foreign])
    assert leaks.process_reports() == 1  # the foreign key: any workspace's key is revoked
    assert _key(foreign_key.id).status == "revoked"
    assert "Leak report" not in {e.actor_label for e in services.key_events(_key(revoked.id))}


@pytest.fixture
def other_org_key(make_user, make_org, make_key):
    _, other = make_org(make_user(email="x@example.com"), name="Other")
    return make_key(other)


def test_the_keys_page_shows_a_banner_to_managers(client, login, setup, make_key):
    workspace, users = setup
    key, plaintext = make_key(workspace, name="Leaky")
    report(client, [plaintext], source="gitguardian", url="https://pastebin.example/x")
    leaks.process_reports()
    login(users["manager"])
    html = client.get(f"/w/{workspace.id}/settings/api-keys").get_data(as_text=True)
    assert "Leaky</a>” was revoked</strong>" in html
    assert "reported as leaked (gitguardian, https://pastebin.example/x)" in html
    detail = client.get(f"/w/{workspace.id}/settings/api-keys/{key.id}").get_data(as_text=True)
    assert "Reported as leaked (gitguardian, https://pastebin.example/x)" in detail


def test_each_report_is_handled_once(client, setup, make_key):
    workspace, _ = setup
    key, plaintext = make_key(workspace)
    report(client, [plaintext])
    assert leaks.process_reports() == 1
    services.activate_key(_key(key.id), actor_label="test")  # someone turns it back on
    db.session.commit()
    assert leaks.process_reports() == 0  # the old report does not strike again
    assert _key(key.id).status == "active"


@pytest.mark.parametrize("body, field", [
    ({"keys": [], "source": "github"}, "keys"),
    ({"keys": ["x"] * 101, "source": "github"}, "keys"),
    ({"keys": ["x" * 201], "source": "github"}, "keys.0"),
    ({"keys": "sureabc", "source": "github"}, "keys"),
    ({"keys": ["x"]}, "source"),
    ({"keys": ["x"], "source": ""}, "source"),
    ({"keys": ["x"], "source": "a" * 101}, "source"),
    ({"keys": ["x"], "source": "git\x00hub"}, "source"),
    ({"keys": ["x"], "source": "github", "url": "javascript:alert(1)"}, "url"),
    ({"keys": ["x"], "source": "github", "url": "https://" + "a" * 2050}, "url"),
    ({"keys": ["x"], "source": "github", "extra": 1}, "extra"),
])
def test_bad_reports_are_422_and_store_nothing(client, setup, body, field):
    response = client.post(URL, json=body)
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert any(name == field or name.endswith(f".{field}") or name == f"body.{field}"
               for name in response.get_json()["errors"]), response.get_json()["errors"]
    assert db.session.scalar(select(LeakReport.id)) is None


@pytest.mark.parametrize("data, content_type, status", [
    (b"{not json", "application/json", 400),
    (b'{"keys": ["x"], "source": "github"}', "text/plain", 415),
])
def test_unparsable_reports(client, setup, data, content_type, status):
    assert client.post(URL, data=data, content_type=content_type).status_code == status


class TestRateLimit:
    @pytest.fixture
    def app_config(self):
        return {"LEAK_REPORT_RATE_LIMIT": "3 per minute"}

    def test_reports_are_limited_per_address(self, client, setup):
        answers = [report(client, ["x"]).status_code for _ in range(4)]
        assert answers == [202, 202, 202, 429]
        assert db.session.query(LeakReport).count() == 3
        other = client.post(URL, json={"keys": ["x"], "source": "s"},
                            environ_base={"REMOTE_ADDR": "10.0.0.9"})
        assert other.status_code == 202


def test_security_md_gives_scanners_the_pattern_the_code_uses():
    """The regex and the checksum snippet in SECURITY.md agree with keys/keystring.py."""
    import re
    import textwrap
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "SECURITY.md").read_text()
    regex = re.search(r"\*\*Regex\*\*.*?\n\s+`([^`]+)`", doc, re.S).group(1)
    snippet = re.search(r"```python\n(.*?)```", doc, re.S).group(1)
    namespace = {}
    exec(textwrap.dedent(snippet), namespace)  # the documented checker, as a scanner runs it
    for _ in range(50):
        key = keystring.generate()
        assert re.search(regex, f"token={key};") and namespace["is_sureapp_key"](key)
        typo = key[:20] + ("A" if key[20] != "A" else "B") + key[21:]
        assert namespace["is_sureapp_key"](typo) is keystring.is_well_formed(typo) is False
