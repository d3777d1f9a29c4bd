"""A real HTTP receiver on 127.0.0.1 and an app that may deliver to it."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sureapp.extensions import db
# The API tests' workspace, other workspace and key-holding clients (one set of fixtures).
from tests.api.conftest import api, api_as, full_key, other_workspace, owner, workspace  # noqa: F401


class Receiver:
    """Collects POSTs; `answers` is a list of statuses (or ("sleep", seconds)) used in order,
    the last one repeating."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: list = [204]
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    index = len(receiver.requests)
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                              "body": body})
                    answer = receiver.answers[min(index, len(receiver.answers) - 1)]
                if isinstance(answer, tuple):  # ("sleep", seconds, then status)
                    time.sleep(answer[1])
                    answer = answer[2]
                self.send_response(answer)
                if 300 <= answer < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks"

    def bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]

    def of_type(self, event_type: str) -> list[dict]:
        return [b for b in self.bodies() if b["type"] == event_type]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def app_config():
    return {"WEBHOOK_ALLOW_PRIVATE_URLS": True, "WEBHOOK_RETRY_SCHEDULE": (0, 0, 0),
            "WEBHOOK_TIMEOUT_SECONDS": 1.0}


@pytest.fixture
def deliver(app):
    """Deliver everything due now, in this thread's app context (the worker's code path)."""
    from sureapp.webhooks import delivery

    def run():
        db.session.commit()
        delivery.run_until_idle()
        db.session.expire_all()

    return run


@pytest.fixture
def make_endpoint(app):
    from sureapp.webhooks import services
    from sureapp.webhooks.schemas import WebhookCreate

    def make(workspace, url, events=("*",), **fields):
        """An endpoint created through the service (committed); returns (endpoint, secret)."""
        endpoint, secret = services.create_endpoint(
            workspace, WebhookCreate(url=url, events=list(events), **fields))
        db.session.commit()
        return endpoint, secret

    return make

