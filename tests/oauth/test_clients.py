"""Clients: dynamic registration (RFC 7591) and its refusals, confidential clients' secrets at
the token endpoint, and Client ID Metadata Documents fetched under the SSRF rule."""
import base64
import datetime
import http.server
import json
import ssl
import threading
import time

import pytest
from sqlalchemy import func, select

from sureapp.extensions import db
from sureapp.models import OAuthClient
from sureapp.netguard import Target, parse_url
from sureapp.oauth import clients

from .conftest import REDIRECT_URI, new_pkce, redirect_query


def count_clients() -> int:
    return db.session.scalar(select(func.count()).select_from(OAuthClient))


def test_registration_answers_the_client_information(oauth):
    info = oauth.register(client_name="  Claude   desktop ", client_uri="https://claude.ai")
    assert info["client_id"].startswith("mcp_")
    assert info["client_name"] == "Claude desktop"
    assert info["redirect_uris"] == [REDIRECT_URI]
    assert info["token_endpoint_auth_method"] == "none" and "client_secret" not in info
    assert info["grant_types"] == ["authorization_code", "refresh_token"]
    assert abs(info["client_id_issued_at"] - time.time()) < 60  # seconds since the epoch, UTC


def test_registration_without_an_auth_method_gets_a_secret_stored_as_a_digest(oauth):
    info = oauth.register(token_endpoint_auth_method=None)
    assert info["token_endpoint_auth_method"] == "client_secret_basic"
    secret = info["client_secret"]
    assert len(secret) >= 40 and info["client_secret_expires_at"] == 0
    row = db.session.scalar(select(OAuthClient))
    assert secret not in json.dumps({c.name: str(getattr(row, c.name))
                                     for c in OAuthClient.__table__.columns})


@pytest.mark.parametrize("body, error", [
    ({"redirect_uris": []}, "invalid_redirect_uri"),
    ({"redirect_uris": "https://a.example/cb"}, "invalid_redirect_uri"),
    ({"redirect_uris": ["http://evil.example/cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["https://a.example/cb#frag"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["https://a.example/c b"]}, "invalid_redirect_uri"),
    ({"redirect_uris": ["https://a.example:99999/cb"]}, "invalid_redirect_uri"),
    ({"redirect_uris": [f"https://a.example/{i}" for i in range(11)]}, "invalid_redirect_uri"),
    ({"redirect_uris": [REDIRECT_URI], "grant_types": ["client_credentials"]},
     "invalid_client_metadata"),
    ({"redirect_uris": [REDIRECT_URI], "response_types": ["token"]}, "invalid_client_metadata"),
    ({"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt"},
     "invalid_client_metadata"),
    ({"redirect_uris": [REDIRECT_URI], "client_name": "bad\x00name"}, "invalid_client_metadata"),
    ({"redirect_uris": [REDIRECT_URI], "client_name": 42}, "invalid_client_metadata"),
    ({"redirect_uris": [REDIRECT_URI], "client_uri": "javascript:x"}, "invalid_client_metadata"),
    (["not", "an", "object"], "invalid_client_metadata"),
])
def test_bad_registrations_are_refused_with_rfc7591_errors(client, body, error):
    response = client.post("/oauth/register", json=body)
    assert response.status_code == 400
    assert response.json["error"] == error and response.json["error_description"]
    assert count_clients() == 0


def test_registration_wants_json(client):
    response = client.post("/oauth/register", data="redirect_uris=x",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and response.json["error"] == "invalid_client_metadata"


def test_native_app_schemes_and_loopback_ipv6_are_accepted(oauth):
    info = oauth.register(redirect_uris=["com.example.app:/oauth", "http://[::1]/cb"])
    assert info["redirect_uris"] == ["com.example.app:/oauth", "http://[::1]/cb"]


def test_registration_is_rate_limited_per_address(app, client):
    app.config["OAUTH_REGISTER_RATE_LIMIT"] = "2 per hour"
    body = {"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none"}
    statuses = [client.post("/oauth/register", json=body).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    refused = client.post("/oauth/register", json=body)
    assert refused.json["error"] == "temporarily_unavailable"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert count_clients() == 2


def test_the_token_endpoint_is_rate_limited_per_address(app, client):
    app.config["OAUTH_TOKEN_RATE_LIMIT"] = "3 per minute"
    statuses = [client.post("/oauth/token", data={"grant_type": "x"}).status_code
                for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def _basic(client_id: str, secret: str) -> dict:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_a_confidential_client_must_authenticate_as_it_registered(people, oauth, login):
    workspace, users = people
    login(users["owner"])
    info = oauth.register(token_endpoint_auth_method="client_secret_basic")
    code, verifier = oauth.code_for(info["client_id"], workspace)
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": REDIRECT_URI}
    without = oauth.client.post("/oauth/token", data={**form, "client_id": info["client_id"]})
    assert without.status_code == 401 and without.json["error"] == "invalid_client"
    wrong = oauth.client.post("/oauth/token", data=form,
                              headers=_basic(info["client_id"], "guess"))
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Basic")
    posted = oauth.client.post("/oauth/token", data={**form, "client_id": info["client_id"],
                                                     "client_secret": info["client_secret"]})
    assert posted.status_code == 401  # registered for Basic, so the body's secret is refused
    # None of the refused attempts named a wrong verifier: the code is still good.
    right = oauth.client.post("/oauth/token", data=form,
                              headers=_basic(info["client_id"], info["client_secret"]))
    assert right.status_code == 200, right.json


def test_garbled_basic_credentials_are_invalid_client(client):
    response = client.post("/oauth/token", data={"grant_type": "refresh_token"},
                           headers={"Authorization": "Basic !!!"})
    assert response.status_code == 401 and response.json["error"] == "invalid_client"


# ---- Client ID Metadata Documents --------------------------------------------------------------

@pytest.mark.parametrize("client_id", [
    "https://127.0.0.1/client.json",
    "https://10.0.0.8/client.json",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/client.json",
    "https://[::ffff:127.0.0.1]/client.json",
    "https://localhost/client.json",
    "https://2130706433/client.json",
    "https://user:pw@example.com/client.json",
    "https://example.com/",
    "https://example.com/a/../client.json",
])
def test_hostile_client_id_urls_are_never_fetched(people, oauth, login, monkeypatch, client_id):
    _, users = people
    login(users["owner"])
    fetched = []
    monkeypatch.setattr(clients, "connection",
                        lambda *args: fetched.append(args) or pytest.fail("connected"))
    _, challenge = new_pkce()
    response = oauth.client.get(oauth.authorize_query(client_id, challenge))
    assert response.status_code == 400 and "Location" not in response.headers
    assert "cannot be fetched" in response.get_data(as_text=True)
    assert fetched == [] and count_clients() == 0


class DocumentServer:
    """An HTTPS server on 127.0.0.1 with a certificate for `client.example`, serving whatever
    `documents` maps a path to; the test trusts its certificate and points client.example at it
    (every other rule of the fetch stays as in production)."""

    HOST = "client.example"

    def __init__(self, tmp_path):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, self.HOST)])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(hours=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(self.HOST)]), False)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                .sign(key, hashes.SHA256()))
        self.cert_path = tmp_path / "cert.pem"
        key_path = tmp_path / "key.pem"
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        self.documents: dict[str, tuple[int, bytes]] = {}
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                status, body = server.documents.get(self.path, (404, b"{}"))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, key_path)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"https://{self.HOST}:{self.port}{path}"

    def serve(self, path: str, document, status: int = 200) -> str:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.documents[path] = (status, body)
        return self.url(path)


@pytest.fixture
def document_server(tmp_path, monkeypatch):
    server = DocumentServer(tmp_path)
    server.thread.start()
    trusted = ssl.create_default_context(cafile=str(server.cert_path))
    monkeypatch.setattr("sureapp.netguard.ssl.create_default_context", lambda *a, **k: trusted)

    def resolve_to_the_test_server(url, *, allow_private=False):
        scheme, host, port, path = parse_url(url)
        assert host == DocumentServer.HOST and not allow_private
        # client.example "resolves" to a public address; the connection goes to the server.
        return Target(scheme, host, port, path, ("127.0.0.1",))

    monkeypatch.setattr(clients, "resolve_target", resolve_to_the_test_server)
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def metadata_document(client_id: str, **fields) -> dict:
    return {"client_id": client_id, "client_name": "Hosted Agent",
            "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none", **fields}


def test_a_client_id_url_is_fetched_and_the_whole_flow_works(people, oauth, login,
                                                            document_server):
    workspace, users = people
    login(users["manager"])
    client_id = document_server.url("/oauth/client.json")
    document_server.serve("/oauth/client.json", metadata_document(client_id))
    verifier, challenge = new_pkce()
    url = oauth.authorize_query(client_id, challenge)
    page = oauth.client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Hosted Agent" in html and "client.example" in html
    response = oauth.allow(url, workspace)
    query = redirect_query(response)
    tokens = oauth.exchange(client_id, query["code"], verifier)
    assert tokens.status_code == 200, tokens.json
    assert oauth.mcp(tokens.json["access_token"]).status_code == 200
    assert document_server.requests == ["/oauth/client.json"]  # cached afterwards
    assert db.session.scalar(select(OAuthClient)).kind == "metadata_document"


@pytest.mark.parametrize("case, document, status, message", [
    ("another client_id", {"client_id": "https://other.example/c.json"}, 200,
     "names another client_id"),
    ("a shared secret", {"token_endpoint_auth_method": "client_secret_basic"}, 200,
     "cannot use a shared secret"),
    ("no redirect URIs", {"redirect_uris": []}, 200, "unusable"),
    ("an http redirect", {"redirect_uris": ["http://evil.example/cb"]}, 200, "unusable"),
    ("not JSON", b"<html>", 200, "not JSON"),
    ("too large", b" " * 6000, 200, "larger than"),
    ("a redirect", {}, 302, "HTTP 302"),
    ("an error", {}, 500, "HTTP 500"),
])
def test_unusable_metadata_documents_are_refused_with_the_reason(people, oauth, login,
                                                                 document_server, case,
                                                                 document, status, message):
    _, users = people
    login(users["owner"])
    client_id = document_server.url("/c.json")
    body = document if isinstance(document, bytes) else \
        {**metadata_document(client_id), **document}
    document_server.serve("/c.json", body, status)
    _, challenge = new_pkce()
    response = oauth.client.get(oauth.authorize_query(client_id, challenge))
    assert response.status_code == 400, case
    assert message in response.get_data(as_text=True), case
    assert count_clients() == 0
