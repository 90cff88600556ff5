"""The list of correspondents (/documents/correspondents): counts, CSV, and its upkeep by staff.

Everyone signed in reads the list and its CSV; staff rename, merge (a rename to another correspondent's name,
asked about first on a page of its own) and delete the unused. Every page works without scripts; the list's
"Find" box refreshes the results through htmx when it can. The rules live in `correspondents`.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import Length, Optional

from app.auth.access import role_required
from app.auth.models import Role
from app.csvio import csv_response
from app.documents import correspondents
from app.documents.correspondents import CorrespondentFilter
from app.web import Filtered, read_filters, render_page, require_confirmation

bp = Blueprint("correspondents", __name__)

EXPIRED = "The form expired; reload the page and try again. Nothing was changed."


class CorrespondentFilterForm(FlaskForm):
    """The list's filter (GET, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField("Find", validators=[Optional(), Length(max=100)])


class RenameForm(FlaskForm):
    """A new name; `merge_into` is set by the merge question's button (the correspondent the person agreed to)."""

    # No length validator: the service says what is wrong in a sentence of its own (`correspondents.clean_name`).
    name = StringField("New name")
    merge_into = HiddenField()


def _filters() -> Filtered[CorrespondentFilterForm, CorrespondentFilter]:
    form = CorrespondentFilterForm(formdata=request.args)
    return read_filters(
        form, lambda f: CorrespondentFilter(q=" ".join((f.q.data or "").split())), CorrespondentFilter()
    )


@bp.get("/documents/correspondents")
def index():
    """Every correspondent by name, with how many documents name them and the newest one's date."""
    read = _filters()
    query = correspondents.correspondent_query(read.filters)
    return render_page(
        "documents/correspondents.html",
        "results",
        filters=read.form,
        page=None if read.problem else correspondents.page_of(query),
        problem=read.problem,
        total=correspondents.total(),
    ), read.status


@bp.get("/documents/correspondents.csv")
def export():
    """The listed correspondents as CSV, same filter as the page."""
    filters = _filters().or_400()

    def lines():
        for row in correspondents.rows(correspondents.correspondent_query(filters)):
            yield (row.id, row.name, row.documents, row.in_trash, row.latest_date, row.latest_upload, row.added_at)

    return csv_response("correspondents.csv", correspondents.CSV_COLUMNS, lines())


@bp.get("/documents/correspondents/<int:correspondent_id>/rename")
@role_required(Role.STAFF)
def rename_page(correspondent_id: int):
    """A correspondent's new name (another's name merges the two, after a question)."""
    row = correspondents.row_of(correspondent_id)
    return render_template("documents/correspondents_rename.html", row=row, form=RenameForm(data={"name": row.name}))


@bp.post("/documents/correspondents/<int:correspondent_id>/rename")
@role_required(Role.STAFF)
def rename(correspondent_id: int):
    """Rename; a name another correspondent has asks first, then merges when the person agreed to that one."""
    form = RenameForm()
    if not form.validate_on_submit():
        abort(400, description=EXPIRED)
    row = correspondents.row_of(correspondent_id)
    try:
        name = correspondents.clean_name(form.name.data)
    except correspondents.InvalidName as error:
        form.name.errors = [str(error)]
        return render_template("documents/correspondents_rename.html", row=row, form=form), error.status_code
    merge = correspondents.merge_needed(correspondent_id, name)
    if merge is None:
        if correspondents.rename(correspondent_id, name, user_id=current_user.id):
            flash(f"{row.name} is now called {name}.", "success")
        else:
            flash(f"{row.name} already had that name; nothing changed.", "success")
        return redirect(url_for("correspondents.index"), code=303)
    if form.merge_into.data != str(merge.target.id):
        # The question; nothing is written until the person presses its button.
        return render_template("documents/correspondents_merge.html", merge=merge, form=form)
    merged = correspondents.merge(correspondent_id, merge.target.id, expected_name=name, user_id=current_user.id)
    moved = f"{merged.documents} document{'' if merged.documents == 1 else 's'}"
    flash(f"{moved} of {merged.source_name} now name {merged.target_name}; {merged.source_name} is gone.", "success")
    return redirect(url_for("correspondents.index"), code=303)


@bp.get("/documents/correspondents/<int:correspondent_id>/delete")
@role_required(Role.STAFF)
def confirm_delete(correspondent_id: int):
    """Ask before deleting a correspondent; one that documents still name gets a sentence instead of the button."""
    return render_template("documents/correspondents_delete.html", row=correspondents.row_of(correspondent_id))


@bp.post("/documents/correspondents/<int:correspondent_id>/delete")
@role_required(Role.STAFF)
def delete(correspondent_id: int):
    """Delete a correspondent no document names."""
    require_confirmation(EXPIRED)
    name = correspondents.delete_unused(correspondent_id, user_id=current_user.id)
    flash(f"{name} was deleted from the list of correspondents.", "success")
    return redirect(url_for("correspondents.index"), code=303)
