"""CSV import (upload limits, encodings, mapping, dry run, bad rows, allocation, report) and
CSV export (current filter, formula injection escaped), plus the import-contacts command."""
import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sureapp import jobs
from sureapp.contacts import csv_import
from sureapp.extensions import db
from sureapp.models import Contact, ContactEvent, Job
from sureapp.timeutil import utcnow


def upload(client, workspace, content: bytes, filename="contacts.csv"):
    return client.post(f"/w/{workspace.id}/contacts/import",
                       data={"file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def job_id_from(response) -> str:
    return re.search(r"/import/([0-9a-f]{32})", response.headers["Location"]).group(1)


def count_jobs():
    return db.session.scalar(select(func.count()).select_from(Job))


def count_contacts():
    return db.session.scalar(select(func.count()).select_from(Contact))


BAD_ROWS = (
    "Email,First Name,Last Name,Company,Plan\n"
    "ana@example.com,Ana,Lima,Acme,pro\n"
    ",No,Email,Acme,free\n"
    "not-an-email,Bad,Email,Acme,free\n"
    "ANA@example.com,Ana,Again,Acme,pro\n"
    "bob@example.com,Bob,,Globex,\n"
)


def test_full_flow_with_bad_rows(ws, as_role, make_contact):
    workspace, _ = ws
    make_contact(workspace, email="bob@example.com", first_name="Robert", phone="+1 555")
    client = as_role("member")
    response = upload(client, workspace, BAD_ROWS.encode())
    assert response.status_code == 303
    job = job_id_from(response)
    base = f"/w/{workspace.id}/contacts/import/{job}"

    mapping = client.get(base).get_data(as_text=True)
    # Guessed from the headers: email, first/last name, company; "Plan" becomes a custom field.
    assert re.search(r'name="col-0">.*?<option value="email" selected', mapping, re.S)
    assert re.search(r'name="col-4">.*?<option value="custom" selected', mapping, re.S)

    r = client.post(base, data={"col-0": "email", "col-1": "first_name", "col-2": "last_name",
                                "col-3": "company", "col-4": "custom"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/review")
    review = client.get(f"{base}/review").get_data(as_text=True)
    counts = re.findall(r'stat-value">([\d,]+)<', review)
    assert counts[:3] == ["1", "1", "3"]  # ana created, bob updated; 3 bad rows
    assert "The email cell is empty" in review and "An email address needs one @" in review
    assert "Duplicate of row 2" in review
    assert count_contacts() == 1  # a dry run writes nothing

    r = client.post(f"{base}/start")
    assert r.status_code == 303
    jobs.wait_for(job)
    progress = client.get(f"{base}/progress").get_data(as_text=True)
    assert "Import finished" in progress
    assert re.findall(r'stat-value">([\d,]+)<', progress)[:3] == ["1", "1", "3"]
    db.session.expire_all()
    ana = db.session.scalar(select(Contact).where(Contact.email == "ana@example.com"))
    assert (ana.first_name, ana.company, ana.custom_fields) == ("Ana", "Acme", {"plan": "pro"})
    bob = db.session.scalar(select(Contact).where(Contact.email == "bob@example.com"))
    assert (bob.first_name, bob.phone, bob.company) == ("Bob", "+1 555", "Globex")  # blanks kept data
    assert db.session.scalar(select(ContactEvent.source).where(ContactEvent.contact_id == ana.id)) == "Import"

    report = client.get(f"{base}/errors.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(report.get_data(as_text=True))))
    assert rows[0] == ["row", "email", "error"] and [r[0] for r in rows[1:]] == ["3", "4", "5"]
    # The uploaded file is gone once imported; only the report is kept.
    db.session.expire_all()
    assert db.session.get(Job, job).input_text is None


def test_bom_and_semicolons_are_understood(ws, as_role):
    workspace, _ = ws
    client = as_role("member")
    data = "\ufeffE-mail;Vorname\nmax@example.com;Max\n".encode("utf-8")
    job = job_id_from(upload(client, workspace, data))
    mapping = client.get(f"/w/{workspace.id}/contacts/import/{job}").get_data(as_text=True)
    assert "E-mail" in mapping and "\ufeff" not in mapping
    assert re.search(r'name="col-0">.*?<option value="email" selected', mapping, re.S)


def test_wrong_encoding_is_a_clear_error(ws, as_role):
    workspace, _ = ws
    r = upload(as_role("member"), workspace, "email,name\nzoe@example.com,Zoë Müller\n".encode("latin-1"))
    assert r.status_code == 422
    assert b"not UTF-8 encoded" in r.data and b"CSV UTF-8" in r.data
    r = upload(as_role("member"), workspace, "email\na@example.com\n".encode("utf-16"))
    assert r.status_code == 422 and b"UTF-16" in r.data


def test_a_file_over_10_mb_is_refused_with_a_clear_error(ws, as_role):
    workspace, _ = ws
    big = b"email,notes\n" + (b"someone@example.com," + b"x" * 80 + b"\n") * 110_000
    assert len(big) > 10 * 1024 * 1024
    r = upload(as_role("member"), workspace, big)
    assert r.status_code == 413
    assert b"larger than 10 MB" in r.data
    assert count_jobs() == 0


def test_a_file_just_over_the_limit_inside_the_request_allowance(ws, as_role):
    """The request may carry a little multipart overhead; the file itself is still checked."""
    workspace, _ = ws
    data = b"email\n" + b"a" * (10 * 1024 * 1024 - 3) + b"\n"
    r = upload(as_role("member"), workspace, data)
    assert r.status_code == 413 and b"larger than 10 MB" in r.data


@pytest.mark.parametrize("content, message", [
    (b"", "The file is empty."),
    (b"email,name\n", "no contacts"),
    (None, "Choose a CSV file"),
])
def test_empty_or_missing_files(ws, as_role, content, message):
    workspace, _ = ws
    client = as_role("member")
    if content is None:
        r = client.post(f"/w/{workspace.id}/contacts/import", data={}, content_type="multipart/form-data")
    else:
        r = upload(client, workspace, content)
    assert r.status_code == 422 and message in r.get_data(as_text=True)


def test_mapping_without_email_or_with_duplicates_is_an_inline_error(ws, as_role):
    workspace, _ = ws
    client = as_role("member")
    job = job_id_from(upload(client, workspace, b"a,b\nx@example.com,y\n"))
    base = f"/w/{workspace.id}/contacts/import/{job}"
    r = client.post(base, data={"col-0": "first_name", "col-1": "custom"})
    assert r.status_code == 422 and b"email address: it is required" in r.data
    r = client.post(base, data={"col-0": "email", "col-1": "email"})
    assert r.status_code == 422 and b"more than one column" in r.data
    r = client.post(base, data={"col-0": "email", "col-1": "password"})
    assert r.status_code == 422
    # The review page refuses to run on a bad mapping.
    r = client.get(f"{base}/review")
    assert (r.status_code, r.headers["Location"]) == (303, base)  # back to the mapping


def test_allocation_blocks_the_import_at_the_dry_run(ws, as_role, make_contact):
    workspace, _ = ws
    make_contact(workspace)
    workspace.contact_allocation = 2
    db.session.commit()
    client = as_role("member")
    job = job_id_from(upload(client, workspace, b"email\na@example.com\nb@example.com\n"))
    base = f"/w/{workspace.id}/contacts/import/{job}"
    review = client.get(f"{base}/review").get_data(as_text=True)
    assert "allocation" in review and "disabled" in review
    r = client.post(f"{base}/start")
    assert r.status_code == 303 and r.headers["Location"].endswith("/review")
    assert count_contacts() == 1


def test_jobs_belong_to_their_user_and_workspace(ws, other_ws, as_role, login, make_user, add_member, app):
    workspace, users = ws
    job = job_id_from(upload(as_role("member"), workspace, b"email\na@example.com\n"))
    manager = as_role("manager")  # same workspace, different user
    for path in ("", "/review", "/progress", "/errors.csv"):
        assert manager.get(f"/w/{workspace.id}/contacts/import/{job}{path}").status_code == 404
    assert manager.post(f"/w/{workspace.id}/contacts/import/{job}/start").status_code == 404
    # The same user through another workspace's URL.
    add_member(other_ws, users["member"], __import__("sureapp.models", fromlist=["Role"]).Role.MEMBER)
    member = as_role("member")
    assert member.get(f"/w/{other_ws.id}/contacts/import/{job}").status_code == 404
    assert member.get(f"/w/{workspace.id}/contacts/import/../../etc").status_code == 404
    assert count_contacts() == 0


def test_cancel_deletes_the_upload(ws, as_role):
    workspace, _ = ws
    client = as_role("member")
    job = job_id_from(upload(client, workspace, b"email\na@example.com\n"))
    assert db.session.get(Job, job) is not None
    assert client.post(f"/w/{workspace.id}/contacts/import/{job}/cancel").status_code == 303
    db.session.expire_all()
    assert db.session.get(Job, job) is None


def test_old_jobs_are_cleaned_up(ws, app):
    workspace, _ = ws
    job_id = csv_import.create_job(workspace, None, "x.csv", b"email\na@example.com\n").id
    db.session.commit()
    assert jobs.sweep(now=utcnow() + jobs.JOB_TTL - timedelta(minutes=1))["deleted"] == 0
    assert jobs.sweep(now=utcnow() + jobs.JOB_TTL + timedelta(minutes=1))["deleted"] == 1
    db.session.expire_all()
    assert db.session.get(Job, job_id) is None


def test_upload_needs_the_csrf_token(ws, as_role, app):
    workspace, _ = ws
    app.config["WTF_CSRF_ENABLED"] = True
    r = upload(as_role("member"), workspace, b"email\na@example.com\n")
    assert r.status_code == 400
    assert count_jobs() == 0


# ---- export ---------------------------------------------------------------------------------

INJECTIONS = ["=cmd|' /C calc'!A0", "+SUM(1,2)", "-2+3", "@SUM(A1)", "\tTab", "\rCR"]


def test_export_escapes_formula_cells_and_follows_the_filter(ws, as_role, make_contact, make_tag):
    workspace, _ = ws
    hostile = make_contact(workspace, email="evil@example.com", first_name=INJECTIONS[0],
                           company=INJECTIONS[1], custom_fields={"note": INJECTIONS[3]})
    make_contact(workspace, email="other@example.com", company="Nice")
    make_tag(workspace, name="=HYPERLINK(x)", members=[hostile])
    client = as_role("member")
    r = client.get(f"/w/{workspace.id}/contacts/export.csv", query_string={"q": "evil"})
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert [row["email"] for row in rows] == ["evil@example.com"]
    row = rows[0]
    assert row["first_name"] == "'=cmd|' /C calc'!A0"
    assert row["company"] == "'+SUM(1,2)"
    assert row["note"] == "'@SUM(A1)"
    assert row["tags"] == "'=HYPERLINK(x)"
    all_rows = list(csv.DictReader(io.StringIO(
        client.get(f"/w/{workspace.id}/contacts/export.csv").get_data(as_text=True))))
    assert len(all_rows) == 2


@pytest.mark.parametrize("value", INJECTIONS)
def test_escape_cell(value):
    from sureapp.contacts.csv_export import escape_cell

    assert escape_cell(value) == "'" + value
    assert escape_cell("plain") == "plain" and escape_cell(None) == "" and escape_cell(5) == "5"


# ---- command line ---------------------------------------------------------------------------

def test_import_contacts_command(ws, runner, tmp_path):
    workspace, _ = ws
    path = tmp_path / "people.csv"
    path.write_text(BAD_ROWS, encoding="utf-8")
    org = workspace.organization.name
    result = runner.invoke(args=["import-contacts", str(path), "--org", org, "--workspace", workspace.name,
                                 "--map", "Plan=skip"])
    assert result.exit_code == 0, result.output
    assert "Created 2, updated 0, failed 3." in result.output
    assert "Error report:" in result.output
    assert count_contacts() == 2
    assert db.session.scalar(select(Contact.custom_fields).where(Contact.email == "ana@example.com")) == {}
    bad = runner.invoke(args=["import-contacts", str(path), "--org", org, "--workspace", "Nope"])
    assert bad.exit_code != 0 and "No workspace" in bad.output
    bad = runner.invoke(args=["import-contacts", str(path), "--org", org, "--workspace", workspace.name,
                              "--map", "Nope=email"])
    assert bad.exit_code != 0 and "COLUMN=TARGET" in bad.output
    dry = runner.invoke(args=["import-contacts", str(path), "--org", org, "--workspace", workspace.name,
                              "--dry-run"])
    assert dry.exit_code == 0 and "Dry run: 0 to create, 2 to update, 3 with errors." in dry.output


def test_an_import_starts_only_once(ws, as_role, monkeypatch):
    workspace, _ = ws
    client = as_role("member")
    job = job_id_from(upload(client, workspace, b"email\na@example.com\n"))
    base = f"/w/{workspace.id}/contacts/import/{job}"
    started = []
    monkeypatch.setattr(jobs.threading.Thread, "start", lambda self: started.append(self))
    assert client.post(f"{base}/start").status_code == 303 and len(started) == 1
    again = client.post(f"{base}/start")  # a double click, Back + resubmit
    assert again.status_code == 303 and again.headers["Location"] == f"{base}/progress"
    assert len(started) == 1
    assert "This form was already sent, so nothing was done again." in client.get(
        again.headers["Location"]).get_data(as_text=True)
    assert jobs.claim(job) is True and jobs.claim(job) is False  # one runner, ever


def upload_token(client, workspace) -> str:
    page = client.get(f"/w/{workspace.id}/contacts/import").get_data(as_text=True)
    return re.search(r'name="once_token" value="([^"]+)"', page).group(1)


def test_sending_the_upload_form_again_makes_no_second_import(ws, as_role):
    workspace, _ = ws
    client = as_role("member")
    token = upload_token(client, workspace)
    url = f"/w/{workspace.id}/contacts/import"

    def send():
        return client.post(url, content_type="multipart/form-data", data={
            "file": (io.BytesIO(b"email\na@example.com\n"), "contacts.csv"), "once_token": token})

    first = send()
    assert first.status_code == 303 and "/import/" in first.headers["Location"]
    again = send()  # Back + resubmit, a double click, a reload of a POST answer
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    assert count_jobs() == 1
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "This form was already sent, so nothing was done again." in page


def test_an_old_upload_form_is_refused_with_a_fresh_one(ws, as_role):
    workspace, _ = ws
    client = as_role("member")
    old = f"{int((utcnow() - timedelta(days=2)).timestamp())}.abc"
    response = client.post(f"/w/{workspace.id}/contacts/import", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(b"email\na@example.com\n"), "c.csv"),
                                 "once_token": old})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "This form was opened too long ago. Check it and send it again." in html
    assert re.search(r'name="once_token" value="([^"]+)"', html).group(1) != old
    assert count_jobs() == 0


def test_a_refused_upload_claims_nothing(ws, as_role):
    workspace, _ = ws
    client = as_role("member")
    token = upload_token(client, workspace)
    url = f"/w/{workspace.id}/contacts/import"
    bad = client.post(url, content_type="multipart/form-data",
                      data={"file": (io.BytesIO(b""), "empty.csv"), "once_token": token})
    assert bad.status_code == 422 and count_jobs() == 0
    # The corrected file, sent with the same form: imported once.
    good = client.post(url, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(b"email\na@example.com\n"), "c.csv"),
                             "once_token": token})
    assert good.status_code == 303 and count_jobs() == 1
