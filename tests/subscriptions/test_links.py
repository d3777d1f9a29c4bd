"""Signed links: what they carry, and every way a token can be wrong."""
import uuid
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner

from sureapp.subscriptions import links
from sureapp.subscriptions.links import BadLink


def token_of(url: str) -> str:
    return url.split("/")[4]


def test_each_link_carries_its_workspace_contact_and_subject(app, workspace, contact):
    campaign_id, list_id = uuid.uuid4(), uuid.uuid4()
    with app.test_request_context():
        unsubscribe = links.unsubscribe_url(workspace.id, contact.id, campaign_id=campaign_id)
        one_click = links.one_click_url(workspace.id, contact.id)
        preferences = links.preferences_url(workspace.id, contact.id)
        confirm = links.confirm_url(workspace.id, contact.id, list_id)
    assert unsubscribe.startswith("http://localhost/unsubscribe/")
    assert one_click.startswith("http://localhost/unsubscribe/") and one_click.endswith("/one-click")
    assert links.read_token(links.UNSUBSCRIBE, token_of(unsubscribe)) == links.LinkClaims(
        workspace.id, contact.id, campaign_id)
    assert links.read_token(links.UNSUBSCRIBE, token_of(one_click)) == links.LinkClaims(
        workspace.id, contact.id, None)
    assert links.read_token(links.PREFERENCES, token_of(preferences)).contact_id == contact.id
    assert links.read_token(links.CONFIRM, token_of(confirm)).subject_id == list_id
    assert len(unsubscribe) < 160  # fits a mail line and a List-Unsubscribe header comfortably


def test_links_are_built_on_public_url_never_on_the_request_host(app, workspace, contact):
    app.config["PUBLIC_URL"] = "https://contacts.example.com"
    with app.test_request_context(headers={"Host": "evil.example"}):
        assert links.preferences_url(workspace.id, contact.id).startswith(
            "https://contacts.example.com/preferences/")
    with app.app_context():  # background work (a campaign send) has no request
        assert links.unsubscribe_url(workspace.id, contact.id).startswith(
            "https://contacts.example.com/unsubscribe/")


def test_without_a_public_address_no_link_is_pretended(app, workspace, contact):
    app.config["PUBLIC_URL"] = ""
    with app.test_request_context(headers={"Host": "contacts.example.com"}):
        with pytest.raises(links.LinksUnavailable, match="PUBLIC_URL"):
            links.unsubscribe_url(workspace.id, contact.id)


URLSAFE_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _changed(char: str) -> str:
    """Another base64 digit differing in its highest bit: the last digit of a part may carry
    unused low bits (A and B end a signature alike), its highest bit is always data."""
    return URLSAFE_B64[URLSAFE_B64.index(char) ^ 0b100000]


@pytest.mark.parametrize("run", range(20))  # 20 tokens: each made with a new time and ids
def test_a_changed_character_anywhere_breaks_the_token(app, workspace, contact, run):
    token = links.make_token(links.UNSUBSCRIBE, workspace.id, contact.id)
    for position in range(len(token)):
        if token[position] == ".":
            continue
        flipped = token[:position] + _changed(token[position]) + token[position + 1:]
        with pytest.raises(BadLink) as caught:
            links.read_token(links.UNSUBSCRIBE, flipped)
        assert not caught.value.expired


def test_a_token_works_only_for_its_purpose(app, workspace, contact):
    token = links.make_token(links.PREFERENCES, workspace.id, contact.id)
    for purpose in (links.UNSUBSCRIBE, links.CONFIRM):
        with pytest.raises(BadLink):
            links.read_token(purpose, token)


def test_a_token_signed_with_another_secret_key_is_refused(app, workspace, contact):
    token = links.make_token(links.UNSUBSCRIBE, workspace.id, contact.id)
    app.config["SECRET_KEY"] = "a rotated secret"
    with pytest.raises(BadLink):
        links.read_token(links.UNSUBSCRIBE, token)


def _made_days_ago(monkeypatch, days: float, purpose: str, *ids) -> str:
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp",
                        lambda self: real(self) - int(timedelta(days=days).total_seconds()))
    token = links.make_token(purpose, *ids)
    monkeypatch.setattr(TimestampSigner, "get_timestamp", real)
    return token


def test_confirm_links_expire_and_say_whose_they_were(app, monkeypatch, workspace, contact):
    fresh = _made_days_ago(monkeypatch, 6.9, links.CONFIRM, workspace.id, contact.id, uuid.uuid4())
    assert links.read_token(links.CONFIRM, fresh).contact_id == contact.id
    old = _made_days_ago(monkeypatch, 7.1, links.CONFIRM, workspace.id, contact.id, uuid.uuid4())
    with pytest.raises(BadLink) as caught:
        links.read_token(links.CONFIRM, old)
    assert caught.value.expired
    assert caught.value.claims.contact_id == contact.id  # the page can offer a new link


def test_unsubscribe_links_keep_working_for_a_long_time(app, monkeypatch, workspace, contact):
    year_old = _made_days_ago(monkeypatch, 400, links.UNSUBSCRIBE, workspace.id, contact.id)
    assert links.read_token(links.UNSUBSCRIBE, year_old).contact_id == contact.id
    ancient = _made_days_ago(monkeypatch, 800, links.UNSUBSCRIBE, workspace.id, contact.id)
    with pytest.raises(BadLink):
        links.read_token(links.UNSUBSCRIBE, ancient)


@pytest.mark.parametrize("garbage", [
    "", ".", "..", "a.b.c", "x" * 301, "é.é.é", "\x00", "AAAA.AAAA.AAAA",
    # A well-signed shape whose payload is not two or three ids:
    "YWJj.aw-2TA.e73MDWjDKGF_qJ5epjuEUaIPc-I",
], ids=["empty", "dot", "dots", "words", "too-long", "unicode", "nul", "shape", "payload"])
def test_garbage_is_a_bad_link(app, garbage):
    with pytest.raises(BadLink):
        links.read_token(links.UNSUBSCRIBE, garbage)


def test_a_signed_payload_that_is_not_ids_is_a_bad_link(app):
    signer = links._signer(links.UNSUBSCRIBE)
    for payload in (b"abc", b"", b"A" * 10, b"!!!!"):
        with pytest.raises(BadLink):
            links.read_token(links.UNSUBSCRIBE, signer.sign(payload).decode())
