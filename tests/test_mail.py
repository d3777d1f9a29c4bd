"""sureapp/mail.py against a real SMTP server on 127.0.0.1: what is sent, what never leaks."""
import datetime
import ipaddress
import logging
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sureapp.mail import mail_configured, send_mail, smtp_settings

from .conftest import SMTP_PASSWORD, SmtpTestServer


@pytest.fixture
def mail_app(app, smtp_server):
    app.config["SMTP_URL"] = smtp_server.url()
    app.config["MAIL_FROM"] = "sureapp@example.com"
    return app


def test_a_mail_reaches_the_server_with_its_headers(mail_app, smtp_server):
    assert mail_configured()
    assert send_mail("ana@example.com", "Your key expires", "Body text\n",
                     headers={"X-Sureapp-Reminder": "7d"}) is True
    [message] = smtp_server.to("ana@example.com")
    assert message["From"] == "sureapp@example.com"
    assert message["Subject"] == "Your key expires"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Sureapp-Reminder"] == "7d"
    assert message["Message-ID"].endswith("@example.com>") and message["Date"]
    assert message.get_content().splitlines() == ["Body text"]
    assert smtp_server.logins == ["mailer"]


def test_a_line_break_in_a_subject_or_header_cannot_add_headers(mail_app, smtp_server):
    send_mail("ana@example.com", "Hi\r\nBcc: eve@evil.example", "x",
              headers={"X-Note": "a\nBcc: eve@evil.example"})
    [message] = smtp_server.messages
    assert message["Bcc"] is None
    assert smtp_server.recipients == [["ana@example.com"]]
    assert message["Subject"] == "Hi Bcc: eve@evil.example"


def test_without_smtp_url_nothing_is_sent(app, smtp_server):
    app.config["SMTP_URL"] = ""
    assert not mail_configured()
    assert send_mail("ana@example.com", "s", "t") is False
    assert smtp_server.messages == []


@pytest.mark.parametrize("break_it", ["wrong password", "server gone", "bad url"])
def test_a_failure_answers_false_and_logs_no_secret(app, smtp_server, caplog, break_it):
    url = {"wrong password": smtp_server.url().replace(SMTP_PASSWORD, "nope-s3cret"),
           "server gone": smtp_server.url(),
           "bad url": f"http://mailer:{SMTP_PASSWORD}@127.0.0.1"}[break_it]
    if break_it == "server gone":
        smtp_server.stop()
    app.config["SMTP_URL"] = url
    with caplog.at_level(logging.DEBUG):
        assert send_mail("ana@example.com", "s", "secret body") is False
    assert "could not be sent" in caplog.text
    for secret in (SMTP_PASSWORD, "nope-s3cret", "secret body", "ana@example.com"):
        assert secret not in caplog.text
    assert smtp_server.messages == []


def test_settings_never_show_the_password():
    settings = smtp_settings("smtps://u:p%40ss@mail.example.com")
    assert (settings.host, settings.port, settings.implicit_tls, settings.password) == (
        "mail.example.com", 465, True, "p@ss")
    assert "p@ss" not in repr(settings)


# ---- STARTTLS verifies the server's certificate ----------------------------------------------

def _self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path):
    cert_path, key_path = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    server = SmtpTestServer(tls_context=context).start()
    yield server, cert_path
    server.stop()


def test_starttls_sends_to_a_server_whose_certificate_is_trusted(app, tls_server, monkeypatch):
    server, cert_path = tls_server
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))  # the system trust store, for this test
    app.config["SMTP_URL"] = server.url(starttls=True)
    assert send_mail("ana@example.com", "s", "t") is True
    assert len(server.messages) == 1 and server.logins == ["mailer"]


def test_starttls_refuses_a_server_whose_certificate_is_not_trusted(app, tls_server):
    server, _ = tls_server
    app.config["SMTP_URL"] = server.url(starttls=True)
    assert send_mail("ana@example.com", "s", "t") is False  # never the password to an impostor
    assert server.messages == [] and server.logins == []
