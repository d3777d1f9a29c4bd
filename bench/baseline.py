"""The baseline for the API read: what plain Flask does with the database driver alone. It
serves one contact (with its list and tag ids) as the same JSON document the API returns, with
no auth, no limiter, no request log and no SQLAlchemy: `sqlite3` on a connection kept per
worker for SQLite; for PostgreSQL a psycopg connection pool of one per sync worker (a sync
worker serves one request at a time) in autocommit, as a driver-level pool would hand out.
Served by `gunicorn -c gunicorn.conf.py bench.baseline:app` with the same settings as the app,
and measured in-process by the same harness (bench/inprocess.py) through `make_app(url)`."""
import json
import os
import uuid
from datetime import datetime

from flask import Flask, abort

COLUMNS = ("id", "email", "first_name", "last_name", "phone", "company", "job_title", "status",
           "source", "custom_fields", "created_at", "updated_at")
SQL = ("SELECT c.{columns}, m.kind, m.group_id FROM contacts c LEFT JOIN ("
       " SELECT 'list' AS kind, lm.list_id AS group_id, l.name AS name, lm.contact_id"
       " FROM list_members lm JOIN contact_lists l ON l.id = lm.list_id WHERE lm.contact_id = {p}"
       " UNION ALL SELECT 'tag', tm.tag_id, t.name, tm.contact_id"
       " FROM tag_members tm JOIN tags t ON t.id = tm.tag_id WHERE tm.contact_id = {p}"
       ") m ON m.contact_id = c.id WHERE c.id = {p} ORDER BY m.kind, m.name")


def _timestamp(value) -> str:
    if isinstance(value, str):  # SQLite keeps DATETIME as text
        value = datetime.fromisoformat(value)
    # As the API prints them (timeutil.iso_utc): to the microsecond stored, whole seconds bare.
    return value.replace(tzinfo=None).isoformat() + "Z"


def _sqlite_reader(path: str):
    import sqlite3

    conn = sqlite3.connect(path, check_same_thread=False)
    sql = SQL.format(columns=", c.".join(COLUMNS), p="?")

    def read(contact_id: uuid.UUID):
        key = contact_id.hex
        return conn.execute(sql, (key, key, key)).fetchall()

    return read


def _postgresql_reader(url: str):
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)
    pool: list = []  # the worker's pool: one connection, reused for every request
    sql = SQL.format(columns=", c.".join(COLUMNS), p="%(id)s")

    def read(contact_id: uuid.UUID):
        if not pool:
            pool.append(psycopg.connect(conninfo, autocommit=True))
        return pool[0].execute(sql, {"id": contact_id}).fetchall()

    return read


def contact_document(rows) -> dict:
    """The API's contact representation, from the joined rows."""
    row = rows[0]
    doc = dict(zip(COLUMNS, row[:len(COLUMNS)]))
    doc["id"] = str(uuid.UUID(str(doc["id"])))
    if isinstance(doc["custom_fields"], str):
        doc["custom_fields"] = json.loads(doc["custom_fields"])
    doc["created_at"], doc["updated_at"] = _timestamp(doc["created_at"]), _timestamp(doc["updated_at"])
    doc["list_ids"], doc["tag_ids"] = [], []
    for kind, group_id in (r[-2:] for r in rows):
        if kind is not None:
            doc[f"{kind}_ids"].append(str(uuid.UUID(str(group_id))))
    return doc


def make_app(database_url: str) -> Flask:
    if database_url.startswith("sqlite:///"):
        read = _sqlite_reader(database_url.removeprefix("sqlite:///"))
    else:
        read = _postgresql_reader(database_url)
    baseline = Flask(__name__)

    @baseline.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @baseline.get("/contacts/<uuid:contact_id>")
    def show(contact_id):
        rows = read(contact_id)
        if not rows:
            abort(404)
        return contact_document(rows)

    return baseline


app = make_app(os.environ["DATABASE_URL"]) if "DATABASE_URL" in os.environ else None
