"""Subscriptions test helpers: a workspace with a contact, signed links as paths, a live server."""
import threading
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server


@pytest.fixture
def app_config():
    # No background thread: these tests look at the outbox rows, nothing delivers them.
    return {"BACKGROUND_WORKER": False, "WEBHOOK_ALLOW_PRIVATE_URLS": True}


@pytest.fixture
def workspace(make_user, make_org):
    _, workspace = make_org(make_user(email="owner@example.com"), workspace_name="Acme News")
    return workspace


@pytest.fixture
def other_workspace(make_user, make_org):
    _, workspace = make_org(make_user(email="other@example.com"), name="Other")
    return workspace


@pytest.fixture
def contact(workspace, make_contact):
    return make_contact(workspace, "ana@example.com", first_name="Ana")


@pytest.fixture
def link(app):
    """`link(links.unsubscribe_url, ws_id, contact_id, ...)` → the URL's path (the test
    client's requests need no host)."""
    def make(builder, *args, **kwargs):
        with app.test_request_context():
            return urlsplit(builder(*args, **kwargs)).path

    return make


@pytest.fixture
def live_server(app):
    """The test's app served by werkzeug in a thread on a free 127.0.0.1 port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="subscriptions-live", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
