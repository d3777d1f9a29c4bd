"""CSV import of 50,000 rows through the same code as the web UI and `flask import-contacts`
(parse, validate every row with the API's schema, dry run, upsert in batches with timeline
events), in-process into a fresh workspace; then one bulk action (tag every imported contact,
one transaction) to show a large selection stays in the seconds."""
import time

from ..runner import Result

TITLE = "CSV import: 50,000 rows; bulk tag of all of them"
ROWS = 50_000


def _csv(rows: int) -> bytes:
    lines = ["Email,First Name,Last Name,Company,Plan"]
    lines += [f"import{i:06d}@example.com,First{i},Last{i},Company {i % 500},plan-{i % 3}"
              for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def run(bench) -> list[Result]:
    from sqlalchemy import select

    from sureapp import jobs
    from sureapp.contacts import bulk, csv_import
    from sureapp.contacts.schemas import TagCreate
    from sureapp.contacts.tags import create_tag
    from sureapp.extensions import db
    from sureapp.models import Contact, Workspace

    rows = 500 if bench.settings.smoke else ROWS
    data = _csv(rows)
    app = bench.app()
    with app.app_context():
        big = db.session.get(Workspace, bench.seed.workspace_id)
        workspace = Workspace(org_id=big.org_id, name=f"Import bench {time.time():.0f}")
        db.session.add(workspace)
        db.session.commit()

        started = time.perf_counter()
        job = csv_import.create_job(workspace, None, "bench.csv", data, max_bytes=None)
        db.session.commit()
        dry = csv_import.dry_run(workspace, job)
        dry_seconds = time.perf_counter() - started
        csv_import.queue(job, source="Import")
        progress = jobs.run_now(job).progress
        seconds = time.perf_counter() - started
        if progress["created"] != rows or dry.creates != rows:
            raise RuntimeError(f"imported {progress} (dry run {dry.creates}) instead of {rows} rows")

        tag = create_tag(workspace, TagCreate(name="Imported"))
        db.session.commit()
        plan = bulk.BulkPlan(action="add_tag", contact_ids=list(db.session.scalars(
            select(Contact.id).where(Contact.workspace_id == workspace.id))), scope="all", target=tag)
        bulk_started = time.perf_counter()
        bulk.apply(workspace, plan, source="Bench")
        bulk_seconds = time.perf_counter() - bulk_started
        db.session.remove()
    return [
        Result("contacts_import", f"import of {rows:,} rows", rows / seconds, "rows/s",
               detail=f"{seconds:.1f} s in all, of which upload + dry run {dry_seconds:.1f} s "
                      f"({len(data) / 1e6:.1f} MB CSV, batches of {csv_import.BATCH_SIZE})"),
        Result("contacts_import", f"bulk tag of {rows:,} contacts (one transaction)", bulk_seconds,
               "s", detail=f"{rows / bulk_seconds:,.0f} contacts/s, chunks of {bulk.CHUNK}"),
    ]
