"""A key's plaintext exists only in the one response that shows it: never in the database file,
never in the logs. Keys are created through the UI (create and regenerate) and the CLI."""
import logging
import re
from pathlib import Path

import pytest

from sureapp.extensions import db
from sureapp.keys import keystring
from sureapp.models import ApiKey

KEY_IN_HTML = re.compile(r'(?:value="|>)(sure[A-Za-z0-9]{56})["<]')


def database_bytes(app) -> bytes:
    """The SQLite file plus its write-ahead log, after a checkpoint."""
    db.session.commit()
    db.session.execute(db.text("PRAGMA wal_checkpoint(FULL)"))
    path = Path(db.engine.url.database)
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def test_plaintext_is_in_neither_database_nor_logs(app, backend, client, login, runner, caplog,
                                                   make_user, make_org):
    if backend != "sqlite":
        pytest.skip("inspects the SQLite database file's bytes")
    caplog.set_level(logging.DEBUG)
    owner = make_user()
    _, workspace = make_org(owner, name="Acme", workspace_name="Main")
    login(owner)
    url = f"/w/{workspace.id}/settings/api-keys"
    plaintexts = []

    created = client.post(url, data={"name": "UI key", "abilities": ["read"]},
                          headers={"HX-Request": "true"})
    plaintexts.append(KEY_IN_HTML.search(created.get_data(as_text=True)).group(1))
    key = db.session.query(ApiKey).filter_by(name="UI key").one()
    # Without JavaScript: redirected to the show-once page (the one_time_reveals row it read is
    # ciphertext whose key was only in a cookie).
    regenerated = client.post(f"{url}/{key.id}/regenerate", data={"grace": "24h"},
                              follow_redirects=True)
    plaintexts.append(KEY_IN_HTML.search(regenerated.get_data(as_text=True)).group(1))
    result = runner.invoke(args=["create-key", "--org", "Acme", "--workspace", "Main",
                                 "--name", "CLI key", "--abilities", "read,write"])
    plaintexts.append(result.output.splitlines()[-1])

    assert all(keystring.is_well_formed(p) for p in plaintexts)
    stored = database_bytes(app)
    logs = caplog.text
    for plaintext in plaintexts:
        assert plaintext.encode() not in stored
        assert plaintext[4:-4].encode() not in stored  # not even the secret middle
        assert plaintext not in logs
    # What is stored instead: the SHA-256 digests (the regenerated key keeps the old one in grace).
    db.session.expire_all()
    ui_key = db.session.query(ApiKey).filter_by(name="UI key").one()
    cli_key = db.session.query(ApiKey).filter_by(name="CLI key").one()
    assert ui_key.key_hash == keystring.digest(plaintexts[1])
    assert ui_key.previous_key_hash == keystring.digest(plaintexts[0])
    assert cli_key.key_hash == keystring.digest(plaintexts[2])
    assert keystring.digest(plaintexts[0]).encode() in stored


def test_a_ui_key_is_stored_as_its_digest_and_works_only_as_itself(app, client, login, make_user,
                                                                  make_org):
    """The digest in the database authenticates the shown key, and nothing else does."""
    owner = make_user()
    _, workspace = make_org(owner)
    login(owner)
    response = client.post(f"/w/{workspace.id}/settings/api-keys",
                           data={"name": "Zapier", "abilities": ["read"]}, follow_redirects=True)
    plaintext = KEY_IN_HTML.search(response.get_data(as_text=True)).group(1)
    key = db.session.query(ApiKey).one()
    assert key.key_hash == keystring.digest(plaintext) and len(key.key_hash) == 64

    def status_with(candidate):
        return client.get("/api/v1/me", headers={"X-API-Key": candidate}).status_code

    assert status_with(plaintext) == 200
    # Neither the stored digest, nor a near miss, nor the display parts open anything.
    assert status_with(key.key_hash) == 401
    assert status_with(plaintext[:-1] + ("a" if plaintext[-1] != "a" else "b")) == 401
    assert status_with(key.masked) == 401
