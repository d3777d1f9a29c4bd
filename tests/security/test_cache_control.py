"""Finding 13.9: every response that carries workspace data is `Cache-Control: no-store`, whatever
its type — pages and fragments, the CSV export, an import's error report, keyed API answers —
so no browser or proxy cache keeps a copy. Static files stay cacheable."""
import io
import re

import pytest

from sureapp import jobs
from sureapp.models import Role

from .conftest import key_headers, sqlite_only

backend = sqlite_only()  # a header rule: nothing here depends on the database engine


@pytest.fixture
def app_config(tmp_path):
    return {"CONTACT_IMPORT_DIR": str(tmp_path / "imports")}


@pytest.fixture
def signed_in(owner_workspace, make_user, add_member, login, client):
    """A manager's client, a contact, and an import that left an error report."""
    _, _, workspace = owner_workspace
    login(add_member(workspace, make_user(email="manager@example.com"), Role.MANAGER))
    base = f"/w/{workspace.id}/contacts"
    created = client.post(f"{base}/new", data={"email": "ana@example.com"})
    contact_path = created.headers["Location"]
    upload = client.post(f"{base}/import", content_type="multipart/form-data", data={
        "file": (io.BytesIO(b"email\nnot-an-email\nbo@example.com\n"), "c.csv")})
    job = re.search(r"/import/([0-9a-f]{32})", upload.headers["Location"]).group(1)
    client.post(f"{base}/import/{job}", data={"col-0": "email"})
    client.post(f"{base}/import/{job}/start")
    jobs.wait_for(job)
    return {"workspace": f"/w/{workspace.id}/", "contacts": base, "contact": contact_path,
            "export": f"{base}/export.csv", "import_report": f"{base}/import/{job}/errors.csv",
            "keys": f"/w/{workspace.id}/settings/api-keys"}


@pytest.mark.parametrize("name,headers,mimetype", [
    ("workspace", {}, "text/html"),
    ("contacts", {}, "text/html"),
    ("contacts", {"HX-Request": "true"}, "text/html"),  # the fragment
    ("contact", {}, "text/html"),
    ("keys", {}, "text/html"),
    ("export", {}, "text/csv"),
    ("import_report", {}, "text/csv"),
])
def test_everything_a_signed_in_browser_gets_is_no_store(client, signed_in, name, headers,
                                                         mimetype):
    response = client.get(signed_in[name], headers=headers)
    assert response.status_code == 200 and response.mimetype == mimetype
    assert response.headers["Cache-Control"] == "no-store"


def test_keyed_api_answers_and_problems_are_no_store(client, api_keys):
    for path, status in (("/api/v1/contacts", 200), ("/api/v1/contacts/" + "0" * 32, 404)):
        response = client.get(path, headers=key_headers(api_keys["read"]))
        assert response.status_code == status
        assert response.headers["Cache-Control"] == "no-store"


def test_static_files_stay_cacheable_for_signed_in_users(client, signed_in):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
