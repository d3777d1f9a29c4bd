"""Key expiry reminders (issue 18 part 4): 7 days and 1 day before, mailed once to the key's
creator and the workspace's managers through a real SMTP server, across runs, restarts and
concurrent workers; a banner on the keys page either way."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from sureapp.extensions import db
from sureapp.keys import reminders, services
from sureapp.models import ApiKey, KeyReminder
from sureapp.timeutil import utcnow

MANAGERS = {"manager@example.com", "admin@example.com", "owner@example.com"}


@pytest.fixture
def setup(app, workspace_with_roles, smtp_server):
    app.config["SMTP_URL"] = smtp_server.url()
    return workspace_with_roles


def _told(smtp_server, subject_part=""):
    return sorted(address for message, rcpts in zip(smtp_server.messages, smtp_server.recipients)
                  if subject_part in message["Subject"] for address in rcpts)


def test_seven_days_and_one_day_before_each_once(setup, make_key, smtp_server):
    workspace, users = setup
    now = utcnow()
    key, plaintext = make_key(workspace, name="Zapier", expires_at=now + timedelta(days=6, hours=12),
                              actor=users["member"])
    assert reminders.send_due_reminders(now) == 1
    assert reminders.send_due_reminders(now) == 0  # a second run (or a restart) sends nothing
    assert _told(smtp_server, "expires in 7 days") == sorted(MANAGERS | {"member@example.com"})
    message = smtp_server.messages[0]
    assert message["Subject"] == "API key “Zapier” expires in 7 days"
    assert key.masked in message.get_content() and plaintext not in message.get_content()
    assert message["X-Sureapp-Notice"] == "key-expiry-7d"

    later = now + timedelta(days=6)  # 12 hours before the expiry
    assert reminders.send_due_reminders(later) == 1
    assert reminders.send_due_reminders(later) == 0
    assert len(_told(smtp_server, "expires tomorrow")) == 4
    assert reminders.send_due_reminders(now + timedelta(days=7)) == 0  # expired: nothing more
    assert len(smtp_server.messages) == 8


def test_a_key_already_within_a_day_gets_only_the_one_day_reminder(setup, make_key, smtp_server):
    workspace, _ = setup
    now = utcnow()
    make_key(workspace, expires_at=now + timedelta(hours=5))
    assert reminders.send_due_reminders(now) == 1
    assert [r.lead_days for r in db.session.scalars(select(KeyReminder))] == [1]
    assert set(_told(smtp_server, "expires tomorrow")) == MANAGERS  # no creator: made by a test


def test_far_revoked_and_never_expiring_keys_get_none(setup, make_key, smtp_server):
    workspace, _ = setup
    now = utcnow()
    make_key(workspace, expires_at=now + timedelta(days=8))
    make_key(workspace)
    revoked, _ = make_key(workspace, expires_at=now + timedelta(days=2))
    services.revoke_key(revoked, actor_label="test")
    db.session.commit()
    assert reminders.send_due_reminders(now) == 0
    assert smtp_server.messages == []


def test_a_new_expiry_gets_its_own_reminders(setup, make_key, smtp_server):
    workspace, _ = setup
    now = utcnow()
    key, _ = make_key(workspace, expires_at=now + timedelta(days=5))
    reminders.send_due_reminders(now)
    services.update_key(db.session.get(ApiKey, key.id), key.name, key.ability_list,
                        now + timedelta(days=6), True, actor_label="test")
    db.session.commit()
    assert reminders.send_due_reminders(now) == 1
    assert len(smtp_server.messages) == 2 * len(MANAGERS)


def test_a_creator_who_left_is_not_mailed(setup, make_key, make_user, smtp_server):
    workspace, users = setup
    outsider = make_user(email="outsider@example.com")
    make_key(workspace, expires_at=utcnow() + timedelta(days=3), actor=outsider)
    reminders.send_due_reminders()
    assert set(_told(smtp_server)) == MANAGERS


def test_without_smtp_the_reminder_is_claimed_and_shown_as_a_banner(
        app, setup, make_key, smtp_server, client, login, runner):
    workspace, users = setup
    app.config["SMTP_URL"] = ""
    key, _ = make_key(workspace, name="Soon gone", expires_at=utcnow() + timedelta(days=2))
    result = runner.invoke(args=["send-key-reminders"])
    assert result.exit_code == 0
    assert "Sent 1 key expiry reminder (SMTP_URL is not set" in result.output
    assert db.session.scalar(select(KeyReminder.mailed_to)) == 0
    assert smtp_server.messages == []
    login(users["manager"])
    html = client.get(f"/w/{workspace.id}/settings/api-keys").get_data(as_text=True)
    assert '<div class="callout" role="status" id="expiring-keys">' in html
    assert "1 key expires within 7 days" in html and "Soon gone</a>” " in html


def test_the_periodic_task_runs_at_most_once_an_interval(app, setup, make_key, smtp_server,
                                                         monkeypatch):
    workspace, _ = setup
    make_key(workspace, expires_at=utcnow() + timedelta(days=3))
    runs = []
    monkeypatch.setattr(reminders, "send_due_reminders", lambda: runs.append(1))
    monkeypatch.setitem(reminders._last_check, "at", 0.0)
    app.config["REMINDER_CHECK_SECONDS"] = 300
    assert reminders.run_task() == 300
    assert 0 < reminders.run_task() <= 300
    assert runs == [1]


def test_two_workers_at_once_send_each_reminder_once(app, backend, setup, make_key, smtp_server):
    """Several gunicorn workers (or hosts) run the task at the same moment: the claim decides."""
    if backend != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL (SQLite serializes every writer anyway)")
    workspace, _ = setup
    now = utcnow()
    for n in range(5):
        make_key(workspace, name=f"key {n}", expires_at=now + timedelta(days=3, minutes=n))
    db.session.remove()
    start, claimed, errors = threading.Barrier(4), [], []

    def worker():
        with app.app_context():
            try:
                start.wait()
                claimed.append(reminders.send_due_reminders(now))
            except Exception as exc:  # surfaced below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sum(claimed) == 5
    assert db.session.scalar(select(db.func.count()).select_from(KeyReminder)) == 5
    assert len(smtp_server.messages) == 5 * len(MANAGERS)  # each manager once per key
