"""CSV import pages: upload → map columns (with a preview) → dry run → import with progress →
error report. The work itself is in csv_import.py, shared with the `import-contacts` command."""
import io

from flask import Blueprint, abort, current_app, flash, render_template, request, send_file, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from .. import jobs, once
from ..extensions import csrf, db
from ..web import ConfirmForm, redirect_to, render_page_or_fragment, workspace_view
from . import csv_import, csv_mapping
from .csv_mapping import CUSTOM, FIELD_TARGETS, SKIP, UploadError
from ..policy import Permission

bp = Blueprint("contact_imports", __name__, url_prefix="/w/<workspace_id>/contacts/import")

# Multipart framing around the file; the file itself is limited to MAX_UPLOAD_BYTES.
MULTIPART_OVERHEAD = 64 * 1024
MAX_UPLOAD_MB = csv_mapping.MAX_UPLOAD_BYTES // (1024 * 1024)


def _job_or_404(workspace, job_id):
    job = csv_import.load_job(job_id, workspace, current_user.id)
    if job is None:
        abort(404)
    return job


def _upload_page(workspace, error: str = "", status: int = 200):
    return render_template("contacts/import_upload.html", workspace=workspace,
                           error=error, max_mb=MAX_UPLOAD_MB), status


@bp.get("")
@workspace_view(Permission.EDIT_CONTACTS)
def new(workspace):
    return _upload_page(workspace)


@bp.post("")
@csrf.exempt  # checked below, once the larger upload limit applies (the global one is smaller)
@workspace_view(Permission.EDIT_CONTACTS)
def upload(workspace):
    request.max_content_length = csv_mapping.MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD
    too_large = (f"The file is larger than {MAX_UPLOAD_MB} MB. Split it into smaller files and "
                 "import them one by one.")
    try:
        if current_app.config["WTF_CSRF_ENABLED"]:
            csrf.protect()  # what the app-wide check would have done, now under the upload limit
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        return _upload_page(workspace, too_large, 413)
    if upload is None or not upload.filename:
        return _upload_page(workspace, "Choose a CSV file to upload.", 422)
    data = upload.stream.read(csv_mapping.MAX_UPLOAD_BYTES + 1)
    try:
        job = csv_import.create_job(workspace, current_user.id, upload.filename, data)
        # Claimed after the draft is written, not before: jobs.create sweeps old jobs on a
        # connection of its own, which would wait for this transaction's lock on SQLite. A
        # resent form rolls its draft back with the claim.
        claim = once.claim(once.submitted_token(), current_user.id)
    except once.Resubmitted as exc:
        return once.answer_resubmitted(exc, url_for(".new", workspace_id=workspace.id))
    except once.FormExpired as exc:
        db.session.rollback()
        return _upload_page(workspace, exc.message, 422)
    except UploadError as exc:
        return _upload_page(workspace, str(exc), 413 if len(data) > csv_mapping.MAX_UPLOAD_BYTES else 422)
    url = url_for(".mapping", workspace_id=workspace.id, job_id=job.id)
    claim.done(url)
    db.session.commit()
    return redirect_to(url)


def _target_choices() -> list[tuple[str, str]]:
    return [(SKIP, "Don't import"), *FIELD_TARGETS.items(), (CUSTOM, "Custom field")]


def _preview(job, headers, mapping):
    _, rows = csv_import.table(job)
    return [csv_mapping.row_payload(headers, mapping, cells) for cells in rows[:csv_mapping.PREVIEW_ROWS]]


@bp.route("/<job_id>", methods=["GET", "POST"])
@workspace_view(Permission.EDIT_CONTACTS)
def mapping(workspace, job_id):
    job = _job_or_404(workspace, job_id)
    if job.state != "draft":
        return redirect_to(url_for(".progress", workspace_id=workspace.id, job_id=job.id))
    headers = job.params["headers"]
    form = ConfirmForm()
    errors: list[str] = []
    mapping = job.params["mapping"]
    if request.method == "POST":
        mapping = [request.form.get(f"col-{i}", SKIP) for i in range(len(headers))]
        errors = csv_mapping.mapping_errors(headers, mapping)
        if not form.validate_on_submit():
            errors.append("Your session expired; please try again.")
        if not errors:
            csv_import.set_mapping(job, mapping)
            db.session.commit()
            return redirect_to(url_for(".review", workspace_id=workspace.id, job_id=job.id))
    _, rows = csv_import.table(job)
    return render_template(
        "contacts/import_mapping.html", workspace=workspace, job=job, form=form, headers=headers,
        mapping=mapping, errors=errors, choices=_target_choices(), samples=rows[:3],
        custom_key=csv_mapping.custom_key), (422 if errors else 200)


@bp.get("/<job_id>/review")
@workspace_view(Permission.EDIT_CONTACTS)
def review(workspace, job_id):
    job = _job_or_404(workspace, job_id)
    if job.state != "draft":
        return redirect_to(url_for(".progress", workspace_id=workspace.id, job_id=job.id))
    headers, mapping = job.params["headers"], job.params["mapping"]
    if csv_mapping.mapping_errors(headers, mapping):
        return redirect_to(url_for(".mapping", workspace_id=workspace.id, job_id=job.id))
    result = csv_import.dry_run(workspace, job)
    labels = {**FIELD_TARGETS, CUSTOM: "Custom field"}
    preview_columns = sorted({k for row in _preview(job, headers, mapping) for k in row},
                             key=lambda k: list(FIELD_TARGETS).index(k) if k in FIELD_TARGETS else 99)
    return render_template(
        "contacts/import_review.html", workspace=workspace, job=job, result=result,
        preview=_preview(job, headers, mapping), preview_columns=preview_columns, labels=labels,
        form=ConfirmForm(), shown_errors=result.errors[:20])


@bp.post("/<job_id>/start")
@workspace_view(Permission.EDIT_CONTACTS)
def start(workspace, job_id):
    job = _job_or_404(workspace, job_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    progress_url = url_for(".progress", workspace_id=workspace.id, job_id=job.id)
    if job.state != "draft":
        # The draft itself is this form's single-use token: once queued, a resent form (a double
        # click, Back and resubmit) starts nothing and says so.
        return once.answer_resubmitted(once.Resubmitted(progress_url), progress_url)
    # Re-checked at start: the allocation may have filled up since the dry run.
    result = csv_import.dry_run(workspace, job)
    if not result.can_import:
        flash(result.allocation_error or "There is nothing to import.", "error")
        return redirect_to(url_for(".review", workspace_id=workspace.id, job_id=job.id))
    queued = csv_import.queue(job, source="Import")
    db.session.commit()
    if queued:  # of two requests racing on one draft, one queues (and starts) it
        jobs.start(job.id)
    return redirect_to(progress_url)


@bp.get("/<job_id>/progress")
@workspace_view(Permission.EDIT_CONTACTS)
def progress(workspace, job_id):
    job = _job_or_404(workspace, job_id)
    return render_page_or_fragment("contacts/import_progress.html", "contacts/_import_progress.html",
                                   workspace=workspace, job=job, progress=jobs.progress_of(job))


@bp.get("/<job_id>/errors.csv")
@workspace_view(Permission.EDIT_CONTACTS)
def report(workspace, job_id):
    job = _job_or_404(workspace, job_id)
    if job.output_text is None:
        abort(404)
    name = job.params["filename"].rsplit(".", 1)[0] or "import"
    return send_file(io.BytesIO(job.output_text.encode("utf-8")), mimetype="text/csv",
                     as_attachment=True, download_name=f"{name}-errors.csv", max_age=0)


@bp.post("/<job_id>/cancel")
@workspace_view(Permission.EDIT_CONTACTS)
def cancel(workspace, job_id):
    job = _job_or_404(workspace, job_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        jobs.delete_job(job)
    except jobs.JobError:
        abort(409)
    db.session.commit()
    flash("Import cancelled; the uploaded file was deleted.", "success")
    return redirect_to(url_for(".new", workspace_id=workspace.id))

