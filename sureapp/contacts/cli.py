"""`flask --app app import-contacts FILE.csv --org ORG --workspace WS` with a progress bar: the
same import as the web UI (mapping guessed from the headers, overridable with --map)."""
from pathlib import Path

import click
from sqlalchemy import delete

from .. import jobs
from ..extensions import db
from ..models import Job
from ..tenancy.cli import existing_workspace
from . import csv_import
from .csv_mapping import CUSTOM, FIELD_TARGETS, SKIP, UploadError, mapping_errors


def _apply_overrides(job, overrides) -> None:
    headers, mapping = job.params["headers"], list(job.params["mapping"])
    targets = {**{t: t for t in FIELD_TARGETS}, "custom": CUSTOM, "skip": SKIP}
    for item in overrides:
        column, sep, target = item.rpartition("=")
        if not sep or column not in headers or target not in targets:
            raise click.BadParameter(
                f"{item!r}: use COLUMN=TARGET with a column of the file ({', '.join(headers)}) and "
                f"a target among {', '.join(targets)}.", param_hint="--map")
        mapping[headers.index(column)] = targets[target]
    csv_import.set_mapping(job, mapping)


@click.command("import-contacts")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_ref", required=True, help="Organization name or id.")
@click.option("--workspace", "ws_ref", required=True, help="Workspace name or id.")
@click.option("--map", "overrides", multiple=True, metavar="COLUMN=TARGET",
              help="Override the guessed mapping, e.g. --map 'E-mail=email' --map 'Notes=skip'.")
@click.option("--dry-run", is_flag=True, help="Only count creates, updates and errors.")
def import_contacts_command(file, org_ref, ws_ref, overrides, dry_run):
    """Import contacts from a UTF-8 CSV file into WORKSPACE of ORG (upsert by email)."""
    workspace = existing_workspace(org_ref, ws_ref)
    try:
        job = csv_import.create_job(workspace, None, file.name, file.read_bytes(), max_bytes=None)
    except UploadError as exc:
        raise click.ClickException(str(exc))
    db.session.commit()
    job_id = job.id
    try:
        _apply_overrides(job, overrides)
        headers, mapping = job.params["headers"], job.params["mapping"]
        problems = mapping_errors(headers, mapping)
        shown = ", ".join(f"{h} → {m or 'skip'}" for h, m in zip(headers, mapping))
        click.echo(f"Columns: {shown}")
        if problems:
            raise click.ClickException(" ".join(problems))
        result = csv_import.dry_run(workspace, job)
        click.echo(f"Dry run: {result.creates} to create, {result.updates} to update, "
                   f"{len(result.errors)} with errors.")
        if result.allocation_error:
            raise click.ClickException(result.allocation_error)
        if dry_run:
            for error in result.errors[:20]:
                click.echo(f"  row {error.row}: {error.message}", err=True)
            return
        csv_import.queue(job, source=f"Import: {file.name}")
        with click.progressbar(length=job.params["row_count"], label="Importing",
                               show_pos=True, show_percent=True) as bar:
            done = {"n": 0}

            def advance(progress):
                bar.update(progress["processed"] - done["n"])
                done["n"] = progress["processed"]

            job = jobs.run_now(job, on_progress=advance)
            final = job.progress
            advance(final)
        if job.state == "failed":
            click.echo(job.error, err=True)
        click.echo(f"Created {final.get('created', 0)}, updated {final.get('updated', 0)}, "
                   f"failed {final.get('failed', 0)}.")
        if final.get("failed") and job.output_text:
            report = file.with_name(f"{file.stem}-errors.csv")
            report.write_text(job.output_text, encoding="utf-8")
            click.echo(f"Error report: {report}")
        if job.state != "done":
            raise click.exceptions.Exit(1)
    finally:  # nothing to poll from a terminal: the job's row goes with the command
        db.session.rollback()
        db.session.execute(delete(Job).where(Job.id == job_id))
        db.session.commit()


def init_app(app):
    app.cli.add_command(import_contacts_command)
