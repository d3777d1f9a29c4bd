"""The baseline for the API read: what bare Flask can do. It serves one contact as the same JSON
document the API returns, with no auth, no limiter, no request log and no ORM: one cached Core
statement on a pooled connection. Served by `gunicorn -c gunicorn.conf.py bench.baseline:app`
with the same settings as the real app."""
import os

from flask import Flask, abort
from sqlalchemy import bindparam, create_engine, select

from sureapp.config import Config
from sureapp.models import Contact

app = Flask(__name__)
engine = create_engine(os.environ["DATABASE_URL"], **Config.SQLALCHEMY_ENGINE_OPTIONS)
contacts = Contact.__table__
CONTACT_BY_ID = select(contacts).where(contacts.c.id == bindparam("id"))


def contact_document(row) -> dict:
    """The API's contact representation (a seeded contact is in no list and has no tag)."""
    return {
        "id": str(row.id), "email": row.email, "first_name": row.first_name,
        "last_name": row.last_name, "phone": row.phone, "company": row.company,
        "job_title": row.job_title, "status": row.status, "source": row.source,
        "custom_fields": row.custom_fields, "list_ids": [], "tag_ids": [],
        "created_at": row.created_at.isoformat(timespec="seconds") + "Z",
        "updated_at": row.updated_at.isoformat(timespec="seconds") + "Z",
    }


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.get("/contacts/<uuid:contact_id>")
def show(contact_id):
    with engine.connect() as conn:
        row = conn.execute(CONTACT_BY_ID, {"id": contact_id}).first()
    if row is None:
        abort(404)
    return contact_document(row)
