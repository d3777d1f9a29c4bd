"""The development server (`make run` = `flask run`) logs requests with the same redaction as
gunicorn's access log: no query strings, no key strings or invitation tokens in paths
(finding 7). gunicorn's own log is proven in tests/perf/test_gunicorn_serving.py."""
import logging
import threading
import urllib.request

import pytest
from werkzeug.serving import make_server

from sureapp.accesslog import redact_target

from .conftest import sqlite_only

backend = sqlite_only()

KEY = "sure" + "A1b2" * 14  # 60 characters, shaped like a key string
TOKEN = "Zq8" + "x" * 40  # shaped like an invitation token


@pytest.mark.parametrize("target, logged", [
    ("/api/v1/contacts?api_key=" + KEY, "/api/v1/contacts"),
    ("/invitations/" + TOKEN, "/invitations/[redacted]"),
    (f"/invitations/{TOKEN}/accept?x=1#frag", "/invitations/[redacted]/accept"),
    ("/w/0b0d3f7e-8c1a-4a53-9a44-1f0c2e3d4b5a/contacts", "/w/0b0d3f7e-8c1a-4a53-9a44-1f0c2e3d4b5a/contacts"),
    ("/api/v1/" + KEY, "/api/v1/[redacted]"),
])
def test_redact_target(target, logged):
    assert redact_target(target) == logged


def test_dev_server_access_log_shows_no_query_string_key_or_token(app, caplog):
    server = make_server("127.0.0.1", 0, app, threaded=False)  # what `flask run` serves with
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            for path in (f"/login?api_key={KEY}&search=private-query", f"/invitations/{TOKEN}"):
                try:
                    urllib.request.urlopen(base + path, timeout=10).close()
                except urllib.error.HTTPError:
                    pass  # the unknown invitation answers 404; only the log matters
    finally:
        server.shutdown()
        thread.join(10)
    log = "\n".join(record.getMessage() for record in caplog.records if record.name == "werkzeug")
    assert '"GET /login HTTP/1.1" 200' in log  # the access log is on, with method and path
    assert "/invitations/[redacted] HTTP/1.1" in log
    assert KEY not in log and "api_key" not in log and "private-query" not in log
    assert TOKEN not in log
