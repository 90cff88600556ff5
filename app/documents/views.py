"""Document pages: upload with live status, the list with counts, a document's page, downloads, the trash.

One piece: every URL under /documents is this one blueprint, whose templates live in templates/documents/; the
routes are thin (read the request, call `service`, `metadata` or `trash`, render), so splitting them would split
one URL space across blueprints without moving any rule out of the way.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import defer
from wtforms.fields.choices import SelectChoice

from app.auth.access import role_required
from app.auth.models import Role
from app.classify import service as classify_service
from app.classify.models import Category, Review
from app.csvio import csv_response
from app.documents import metadata, queries, service, trash
from app.documents.errors import DocumentError
from app.documents.forms import DocumentFilterForm, TrashFilterForm
from app.documents.models import Document, DocumentEvent, DocumentState, ReviewState
from app.documents.queries import DocumentFilter, TrashFilter, get_document
from app.documents.storage import blob_store
from app.documents.visibility import visible_document_or_404
from app.extensions import db
from app.search import service as search_service
from app.web import Filtered, is_htmx, read_filters, render_page, require_confirmation

bp = Blueprint("documents", __name__)


@bp.record_once
def _template_names(state) -> None:
    """Templates compare states with the enums, never with bare strings."""
    state.app.jinja_env.globals.update(DocumentState=DocumentState, ReviewState=ReviewState)


def _digits(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _filters() -> Filtered[DocumentFilterForm, DocumentFilter]:
    form = DocumentFilterForm(formdata=request.args)
    form.uploader.choices = queries.uploader_choices()
    form.correspondent.choices = queries.correspondent_choices()
    names = db.session.execute(select(Category.id, Category.name).order_by(Category.active.desc(), Category.name)).all()
    form.category.choices = [SelectChoice("", "Any")] + [SelectChoice(str(i), n) for i, n in names]
    return read_filters(
        form,
        lambda f: DocumentFilter(
            state=f.state.data or None,
            kind=f.kind.data or None,
            uploader_id=_digits(f.uploader.data),
            category_id=_digits(f.category.data),
            review_state=f.review.data or None,
            since=f.since.data,
            until=f.until.data,
            q=f.q.data or "",
            sort=f.sort.data or "newest",
            tag=" ".join((f.tag.data or "").split()).lower(),
            correspondent_id=_digits(f.correspondent.data),
            dated_from=f.dated_from.data,
            dated_until=f.dated_until.data,
        ),
        DocumentFilter(),
    )


@bp.get("/documents")
def index():
    """Every document with its state, filtered and sorted, with counts per state and type."""
    read = _filters()
    return render_page(
        "documents/list.html",
        "results",
        filters=read.form,
        page=None if read.problem else queries.page_of(queries.document_query(read.filters)),
        problem=read.problem,
        state_counts=queries.state_counts(),
        kind_counts=queries.kind_counts(),
        category_counts=classify_service.filed_counts(),
        waiting=classify_service.waiting_count(),
        in_trash=queries.trash_count(),
        tag_names=queries.tag_names(),
    ), read.status


@bp.get("/documents.csv")
def export():
    """The listed documents as CSV, same filters as the page."""
    filters = _filters().or_400()

    def rows():
        for d in db.session.scalars(queries.document_query(filters).execution_options(yield_per=500)):
            uploader = d.uploader.email if d.uploader else "system"
            yield (
                d.id,
                d.filename,
                d.state,
                d.kind,
                d.mime,
                d.size,
                d.pages,
                uploader,
                d.uploaded_at,
                d.finished_at,
                d.sha256,
                d.failure_reason,
                d.category.name if d.category and d.review_state != ReviewState.NEEDS_REVIEW else None,
                d.review_state,
                d.confidence,
                d.display_title,
                d.document_date,
                d.correspondent.name if d.correspondent else None,
                ", ".join(d.tag_names),
            )

    return csv_response("documents.csv", queries.CSV_COLUMNS, rows())


@bp.get("/documents/upload")
@role_required(Role.STAFF)
def upload_page():
    """Drop or pick files; each shows its own upload progress, then its processing state live."""
    return render_template("documents/upload.html", limit_mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024))


@dataclass(frozen=True)
class UploadOutcome:
    """What became of one uploaded file, for the answer fragment."""

    name: str
    document: Document | None = None
    duplicate: bool = False
    error: str | None = None
    status: int = 201


def _uploaded_files():
    files = [f for f in request.files.getlist("files") if f and (f.filename or f.content_length)]
    if not files:
        files = [f for f in request.files.getlist("file") if f]
    return files


@bp.post("/documents/upload")
@role_required(Role.STAFF)
def upload():
    """Store each file once and queue it. The upload script sends one file per request; a plain form may send many."""
    files = _uploaded_files()
    if not files:
        abort(400, description="Choose at least one file to upload.")
    outcomes = []
    for file in files:
        name = service.safe_filename(file.filename)
        try:
            ingested = service.ingest(file.stream, file.filename, user_id=current_user.id)
        except DocumentError as error:
            db.session.rollback()
            outcomes.append(UploadOutcome(name, error=str(error), status=error.status_code))
            continue
        status = 200 if ingested.duplicate else 201
        outcomes.append(UploadOutcome(name, ingested.document, ingested.duplicate, status=status))
    status = outcomes[0].status if len(outcomes) == 1 else (207 if any(o.error for o in outcomes) else 201)
    if is_htmx():  # the upload script sends HX-Request: it wants the fragment
        return render_template("documents/_upload_results.html", outcomes=outcomes), status
    return render_template(
        "documents/upload.html", outcomes=outcomes, limit_mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
    ), status


@bp.get("/documents/<int:document_id>/status")
def status(document_id: int):
    """The live state widget of one document: polls itself until the document is processed or failed."""
    document = visible_document_or_404(document_id)
    body = render_template("documents/_status.html", document=document)
    here = urlsplit(request.headers.get("HX-Current-URL", "")).path.rstrip("/")
    if document.is_finished and here == url_for("documents.show", document_id=document_id):
        # On the document's own page, reload once it is done, so its text and preview appear.
        return body, 200, {"HX-Refresh": "true"}
    return body


@bp.get("/documents/<int:document_id>")
def show(document_id: int):
    """A document: preview, text, details, stage times, history, download, retry (a trashed one: admins only)."""
    return _show_page(visible_document_or_404(document_id))


def _show_page(document: Document, *, problem: str | None = None, submitted: dict | None = None) -> str:
    """The document page; after a refused edit, with the sentence saying why and what the person typed."""
    document_id = document.id
    events = db.session.scalars(
        select(DocumentEvent).where(DocumentEvent.document_id == document_id).order_by(DocumentEvent.id)
    ).all()
    active = db.session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.id)).all()
    reviews = db.session.scalars(
        select(Review).where(Review.document_id == document_id).order_by(Review.id.desc())
    ).all()
    return render_template(
        "documents/show.html",
        document=document,
        events=events,
        categories=active,
        reviews=reviews,
        similar=_similar(document),
        purge_after=trash.purge_after(document),
        notes=metadata.notes_of(document_id),
        correspondent_names=metadata.correspondent_names(),
        details_problem=problem,
        submitted=submitted,
    )


DETAIL_FIELDS = ("title", "document_date", "correspondent", "tags")


@bp.post("/documents/<int:document_id>/details")
@role_required(Role.STAFF)
def edit_details(document_id: int):
    """Save what a person files the document by (title, date, correspondent, tags); saving confirms suggestions."""
    require_confirmation()
    document = visible_document_or_404(document_id)
    submitted = {name: request.form.get(name, "") for name in DETAIL_FIELDS}
    try:
        changed = metadata.update_details(document_id, metadata.read_details(**submitted), user_id=current_user.id)
    except metadata.InvalidDetails as error:
        db.session.rollback()
        return _show_page(document, problem=str(error), submitted=submitted), error.status_code
    flash("The details were saved." if changed else "Nothing changed.", "success")
    return redirect(url_for("documents.show", document_id=document_id, _anchor="details"), code=303)


@bp.post("/documents/<int:document_id>/details/confirm")
@role_required(Role.STAFF)
def confirm_suggestions(document_id: int):
    """Accept the date and correspondent suggested from the text as they are."""
    require_confirmation()
    visible_document_or_404(document_id)
    if metadata.confirm_suggestions(document_id, user_id=current_user.id):
        flash("The suggested details are confirmed.", "success")
    else:
        flash("There was nothing suggested to confirm.", "success")
    return redirect(url_for("documents.show", document_id=document_id, _anchor="details"), code=303)


@bp.post("/documents/<int:document_id>/notes")
@role_required(Role.STAFF)
def add_note(document_id: int):
    """Add a note (who wrote what, when) to a document."""
    require_confirmation()
    document = visible_document_or_404(document_id)
    try:
        metadata.add_note(document_id, request.form.get("body"), user_id=current_user.id)
    except metadata.InvalidDetails as error:
        db.session.rollback()
        return _show_page(document, problem=str(error), submitted={"note": request.form.get("body", "")}), 400
    flash("The note was added.", "success")
    return redirect(url_for("documents.show", document_id=document_id, _anchor="notes"), code=303)


def _similar(document: Document) -> list:
    """ "More like this": documents whose text resembles this one's, from the search index."""
    if not document.is_live:
        return []
    try:
        return search_service.more_like_this(document.id, limit=5)
    except Exception:  # the page must show even when the index is unreadable; /readyz says why
        current_app.logger.warning("more like this failed", exc_info=True)
        return []


@bp.get("/documents/<int:document_id>/thumbnail.png")
def thumbnail(document_id: int):
    """The first page as a small PNG. Cached by the browser only: it is behind sign-in, so no shared cache keeps it."""
    document = visible_document_or_404(document_id)
    png = blob_store().open_derived("thumbnails", document.sha256) if document.has_thumbnail else None
    if png is None:
        abort(404)
    response = send_file(png, mimetype="image/png", etag=f"thumbnail-{document.sha256}", max_age=3600)
    response.cache_control.public = False
    response.cache_control.private = True
    return response


@bp.get("/documents/<int:document_id>/download")
def download(document_id: int):
    """The original bytes, with the stored type, always as an attachment (never rendered by the browser)."""
    document = visible_document_or_404(document_id)
    store = blob_store()
    presigned = store.download_url(document.sha256, filename=document.filename, mimetype=document.mime)
    try:
        if presigned is not None:  # S3 with QM_S3_PRESIGN_SECONDS: the browser fetches it from the bucket itself
            if not store.exists(document.sha256):
                raise FileNotFoundError(document.sha256)
            return redirect(presigned)
        stream = store.open(document.sha256)  # streamed in chunks from the file or the bucket, never held whole
    except FileNotFoundError:
        if document.deleted_at is not None:
            abort(410, description=f"{document.filename} was deleted and its file purged.")
        abort(404, description="The stored file is missing; tell an admin.")
    response = send_file(
        stream,
        mimetype=document.mime,
        as_attachment=True,
        download_name=document.filename,
        etag=document.sha256,
        max_age=0,
    )
    if response.status_code == 200:  # a file object gives send_file no size: the row knows it, and ranges need it
        response.content_length = document.size
        response.make_conditional(request.environ, accept_ranges=True, complete_length=document.size)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.post("/documents/<int:document_id>/retry")
@role_required(Role.STAFF)
def retry(document_id: int):
    """Process a failed document again."""
    require_confirmation()
    visible_document_or_404(document_id)
    document = service.retry(document_id, user_id=current_user.id)
    flash(f"{document.filename} is queued again.", "success")
    return redirect(url_for("documents.show", document_id=document_id), code=303)


@bp.get("/documents/<int:document_id>/delete")
@role_required(Role.STAFF)
def confirm_delete(document_id: int):
    """Ask before moving a document to the trash, saying what that means (a plain page: works without scripts)."""
    document = get_document(document_id)
    if document.deleted_at is not None:  # its page is for admins only now: the trash is where it can be restored
        flash(f"{document.filename} is already in the trash.", "success")
        return redirect(url_for("documents.trash_page"), code=303)
    return render_template(
        "documents/confirm_delete.html", document=document, trash_days=current_app.config["TRASH_DAYS"]
    )


@bp.post("/documents/<int:document_id>/delete")
@role_required(Role.STAFF)
def delete(document_id: int):
    """Move a document to the trash: out of the lists, review and search at once; staff can restore it."""
    require_confirmation()
    document = service.delete_document(document_id, user_id=current_user.id)
    days = current_app.config["TRASH_DAYS"]
    flash(
        f"{document.filename} was moved to the trash. Staff can restore it from the trash for {days} days.", "success"
    )
    return redirect(url_for("documents.index"), code=303)


@bp.post("/documents/<int:document_id>/restore")
@role_required(Role.STAFF)
def restore(document_id: int):
    """Take a document out of the trash: back in the lists, review and search."""
    require_confirmation()
    document = service.restore_document(document_id, user_id=current_user.id)
    flash(f"{document.filename} was restored: it is back in the lists and the search.", "success")
    if request.form.get("back") == "trash":
        return redirect(url_for("documents.trash_page"), code=303)
    return redirect(url_for("documents.show", document_id=document_id), code=303)


@bp.get("/documents/<int:document_id>/purge")
@role_required(Role.ADMIN)
def confirm_purge(document_id: int):
    """Ask before removing a trashed document for good, listing everything that goes."""
    document = get_document(document_id)
    if document.deleted_at is None:
        abort(409, description=f"{document.filename} must be in the trash before it can be removed for good.")
    reviews = db.session.scalar(select(func.count(Review.id)).where(Review.document_id == document_id))
    events = db.session.scalar(select(func.count(DocumentEvent.id)).where(DocumentEvent.document_id == document_id))
    return render_template("documents/confirm_purge.html", document=document, reviews=reviews, events=events)


@bp.post("/documents/<int:document_id>/purge")
@role_required(Role.ADMIN)
def purge(document_id: int):
    """Remove a trashed document for good now: its row, history, reviews, text, file, preview and index entry."""
    require_confirmation()
    purged = trash.purge_document(document_id, user_id=current_user.id)
    flash(f"{purged.filename} was removed for good ({purged.bytes_freed:,} bytes freed).", "success")
    return redirect(url_for("documents.trash_page"), code=303)


def _trash_filters() -> Filtered[TrashFilterForm, TrashFilter]:
    form = TrashFilterForm(formdata=request.args)
    form.deleted_by.choices = [SelectChoice("", "Anyone"), SelectChoice("system", "The system (retention)")] + [
        SelectChoice(str(user_id), email) for user_id, email in queries.deleters()
    ]
    return read_filters(
        form,
        lambda f: TrashFilter(
            q=f.q.data or "",
            deleted_by=_digits(f.deleted_by.data),
            system_only=f.deleted_by.data == "system",
            since=f.since.data,
            until=f.until.data,
        ),
        TrashFilter(),
    )


@bp.get("/documents/trash")
def trash_page():
    """What is in the trash, newest first: who deleted it, when, and when it goes for good; restore, remove now."""
    read = _trash_filters()
    query = queries.trash_query(read.filters).options(defer(Document.text))
    return render_page(
        "documents/trash.html",
        "results",
        filters=read.form,
        page=None if read.problem else queries.page_of(query),
        problem=read.problem,
        count=queries.trash_count(),
        size=queries.trash_size(),
        trash_days=current_app.config["TRASH_DAYS"],
        retain_days=current_app.config["RETAIN_DAYS"],
        purge_at=f"{trash.PURGE_AT[0]:02d}:{trash.PURGE_AT[1]:02d} UTC",
        purge_after=trash.purge_after,
    ), read.status


@bp.get("/documents/trash.csv")
def trash_csv():
    """The trash as CSV, same filters as the page."""
    filters = _trash_filters().or_400()

    def rows():
        query = queries.trash_query(filters).options(defer(Document.text))
        for d in db.session.scalars(query.execution_options(yield_per=500)):
            yield (
                d.id,
                d.filename,
                d.kind,
                d.size,
                d.uploaded_at,
                d.uploader.email if d.uploader else "system",
                d.deleted_at,
                d.deleter.email if d.deleter else "system",
                trash.purge_after(d),
                d.purge_started_at is not None,
                d.sha256,
            )

    return csv_response("trash.csv", queries.TRASH_CSV_COLUMNS, rows())
