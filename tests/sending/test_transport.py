"""transport.send against a real SMTP server on 127.0.0.1: which server, which From, and what
each answer of the server means for the recipient."""
import logging

import pytest

from sureapp.extensions import db
from sureapp.sending import transport
from sureapp.sending.transport import SendingUnavailable
from tests.conftest import SMTP_PASSWORD, SMTP_USERNAME


def test_no_server_at_all_is_refused_with_a_clear_message(app, workspace):
    app.config["SMTP_URL"] = ""
    assert transport.can_send(workspace.id) is False
    with pytest.raises(SendingUnavailable, match="Settings → Sending"):
        transport.send(workspace.id, "ann@example.com", "Hi", "Hello")


def test_smtp_url_is_the_default_and_sends_as_mail_from(app, workspace, smtp_server):
    app.config["SMTP_URL"] = smtp_server.url()
    outcome = transport.send(workspace.id, "ann@example.com", "Hi", "Hello",
                             from_addr="news@example.com", headers={"X-Campaign": "c1"})
    assert outcome.sent
    [message] = smtp_server.to("ann@example.com")
    assert message["From"] == app.config["MAIL_FROM"]
    assert message["Reply-To"] == "news@example.com"
    assert message["X-Campaign"] == "c1"


def test_the_workspace_connection_wins_and_logs_in(app, workspace, smtp_server, make_connection):
    app.config["SMTP_URL"] = ""
    make_connection(workspace, smtp_server)
    outcome = transport.send(workspace.id, "ann@example.com", "Hi", "Hello", html="<p>Hello</p>")
    assert outcome.sent
    [message] = smtp_server.to("ann@example.com")
    assert message["From"] == "news@example.com"
    assert smtp_server.logins == [SMTP_USERNAME]
    assert message.get_body(("html",)).get_content().strip() == "<p>Hello</p>"
    assert message.get_body(("plain",)).get_content().strip() == "Hello"


def test_a_from_address_is_routed_to_the_connection_that_allows_it(app, workspace, smtp_server,
                                                                    make_connection):
    make_connection(workspace, smtp_server, from_addresses=("news@example.com",), name="A")
    make_connection(workspace, smtp_server, from_addresses=("@shop.example",), name="B",
                    login=False)
    assert transport.send(workspace.id, "ann@example.com", "Hi", "x",
                          from_addr="Sales@Shop.example").sent
    assert smtp_server.messages[-1]["From"] == "Sales@Shop.example"
    assert smtp_server.logins == []  # B has no login
    with pytest.raises(SendingUnavailable, match="may send as ceo@evil.example"):
        transport.send(workspace.id, "ann@example.com", "Hi", "x", from_addr="ceo@evil.example")


def test_a_5xx_for_the_address_is_a_bounce_and_a_4xx_is_retried(app, workspace, smtp_server,
                                                                  make_connection):
    make_connection(workspace, smtp_server)
    smtp_server.refuse["gone@example.com"] = "550 5.1.1 No such user"
    smtp_server.refuse["full@example.com"] = "452 4.2.2 Mailbox full, try later"
    bounced = transport.send(workspace.id, "gone@example.com", "Hi", "x")
    assert (bounced.status, bounced.code, bounced.retry) == ("bounced", 550, False)
    deferred = transport.send(workspace.id, "full@example.com", "Hi", "x")
    assert (deferred.status, deferred.code, deferred.retry) == ("failed", 452, True)
    assert smtp_server.messages == []


def test_a_server_that_is_down_is_a_retryable_failure(app, workspace, smtp_server,
                                                      make_connection):
    make_connection(workspace, smtp_server)
    smtp_server.stop()
    outcome = transport.send(workspace.id, "ann@example.com", "Hi", "x")
    assert (outcome.status, outcome.retry) == ("failed", True)


def test_a_wrong_password_is_a_failure_that_names_the_login(app, workspace, smtp_server,
                                                            make_connection):
    connection = make_connection(workspace, smtp_server)
    connection.password_encrypted = transport.encrypt_password("wrong")
    db.session.commit()
    outcome = transport.send(workspace.id, "ann@example.com", "Hi", "x")
    assert outcome.status == "failed" and "login" in outcome.error


def test_private_hosts_are_refused_unless_allowed(app, workspace, smtp_server, make_connection):
    make_connection(workspace, smtp_server)
    app.config["SMTP_ALLOW_PRIVATE_HOSTS"] = False
    outcome = transport.send(workspace.id, "ann@example.com", "Hi", "x")
    assert outcome.status == "failed" and "not a public internet address" in outcome.error
    assert smtp_server.messages == []


def test_the_rate_per_minute_is_shared_and_says_when_to_retry(app, workspace, smtp_server,
                                                              make_connection):
    make_connection(workspace, smtp_server, mails_per_minute=2)
    outcomes = [transport.send(workspace.id, f"r{i}@example.com", "Hi", "x") for i in range(3)]
    assert [o.status for o in outcomes] == ["sent", "sent", "failed"]
    assert outcomes[2].retry and 0 < outcomes[2].retry_after <= 60
    assert len(smtp_server.messages) == 2


def test_an_unreadable_password_asks_for_it_again(app, workspace, smtp_server, make_connection):
    connection = make_connection(workspace, smtp_server)
    connection.password_encrypted = "not-a-fernet-token"
    db.session.commit()
    with pytest.raises(SendingUnavailable, match="enter it again"):
        transport.send(workspace.id, "ann@example.com", "Hi", "x")


def test_the_password_is_encrypted_and_never_logged(app, workspace, smtp_server, make_connection,
                                                    caplog):
    caplog.set_level(logging.DEBUG)
    connection = make_connection(workspace, smtp_server)
    assert SMTP_PASSWORD not in connection.password_encrypted
    smtp_server.refuse["gone@example.com"] = "550 No such user"
    transport.send(workspace.id, "gone@example.com", "Hi", "x")
    smtp_server.stop()
    transport.send(workspace.id, "ann@example.com", "Hi", "x")
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("sureapp"))
    assert "not sent" in ours  # the failures were logged, by type
    assert SMTP_PASSWORD not in ours
    assert "gone@example.com" not in ours and "ann@example.com" not in ours
    assert SMTP_PASSWORD not in repr(transport.settings_of(connection))
