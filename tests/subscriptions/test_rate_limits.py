"""The public pages are rate limited per client IP; damaged links run out first."""
import pytest

from sureapp.subscriptions import links


@pytest.fixture
def app_config():
    return {"BACKGROUND_WORKER": False, "SUBSCRIPTION_RATE_LIMIT": "6 per minute",
            "SUBSCRIPTION_BAD_LINK_RATE_LIMIT": "3 per minute"}


def test_guessing_links_is_stopped_and_stops_that_address_only(client, link, workspace, contact):
    for _ in range(3):
        assert client.get("/unsubscribe/guess.guess.guess").status_code == 400
    refused = client.get("/unsubscribe/guess.guess.guess")
    assert refused.status_code == 429 and b"Too many requests" in refused.data
    good = link(links.unsubscribe_url, workspace.id, contact.id)
    assert client.get(good).status_code == 429  # the same address, now out of budget
    other = client.get(good, environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert other.status_code == 200


def test_every_request_counts_toward_the_page_budget(client, link, workspace, contact):
    good = link(links.preferences_url, workspace.id, contact.id)
    assert [client.get(good).status_code for _ in range(7)] == [200] * 6 + [429]
