"""Fixtures for automations: a workspace with a full key (the API's), time that can be moved
forward, and a helper that runs the periodic task as the background thread would."""
import uuid
from datetime import timedelta

import pytest

from sureapp.automations import runs
from sureapp.extensions import db
from sureapp.models import AutomationRun
from sureapp.timeutil import utcnow

from tests.api.conftest import ApiClient  # noqa: F401  (the keyed client, defined once)


@pytest.fixture
def owner(make_user):
    return make_user(email="auto-owner@example.com")


@pytest.fixture
def workspace(owner, make_org):
    return make_org(owner, name="Acme", workspace_name="Main")[1]


@pytest.fixture
def api(client, workspace, make_key):
    return ApiClient(client, make_key(workspace)[1])


class Clock:
    """The runner's `now`, moved by the test (a wait of days passes in an instant)."""

    def __init__(self):
        self.now = utcnow() + timedelta(seconds=5)  # after anything the test enrols now

    def advance(self, **delta):
        self.now += timedelta(**delta)
        return self.now

    def catch_up(self):
        """Never behind the real clock: what the test just enrolled (at the real now) is due."""
        self.now = max(self.now, utcnow())
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def run_due(app, clock):
    """Advance every due run at the clock's time, as the periodic task does."""
    def run():
        runs.advance_due(now=clock.catch_up())
        db.session.expire_all()
    return run


def runs_of(automation_id):
    db.session.expire_all()
    return list(db.session.query(AutomationRun).filter_by(automation_id=uuid.UUID(str(automation_id)))
                .order_by(AutomationRun.created_at))
