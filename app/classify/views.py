"""Admin pages of classification: the categories."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.access import role_required
from app.auth.models import Role
from app.classify import categories
from app.classify.forms import CategoryForm, EditCategoryForm
from app.classify.models import Category
from app.extensions import db
from app.forms import ConfirmForm
from app.web import require_confirmation

bp = Blueprint("classify", __name__, url_prefix="/admin/categories")


@bp.app_template_filter("category_name")
def category_name(key: str | None) -> str:
    """A model's answer (a category key) as people read it: the category's name now."""
    if not key:
        return ""
    if "category_names" not in g:
        g.category_names = categories.names_by_key()
    return g.category_names.get(key, key)


@bp.before_request
@role_required(Role.ADMIN)
def _admins_only() -> None:
    """Categories are managed by admins."""


@bp.route("", methods=["GET", "POST"])
def index():
    """Every category, and the form to add one."""
    form = CategoryForm()
    status = 200
    if form.validate_on_submit():
        try:
            category = categories.create_category(
                form.name.data, description=form.description.data, colour=form.colour.data, user_id=current_user.id
            )
        except categories.CategoryError as error:
            form.name.errors = [*form.name.errors, str(error)]
            status = error.status_code
        else:
            flash(f"Category {category.name} added.", "success")
            return redirect(url_for("classify.index"), code=303)
    elif request.method == "POST":
        status = 400
    return render_template(
        "classify/categories.html", form=form, categories=categories.list_categories(), confirm=ConfirmForm()
    ), status


@bp.post("/<int:category_id>/<any(activate, deactivate):action>")
def set_active(category_id: int, action: str):
    """Retire a category or bring it back."""
    require_confirmation()
    category = db.session.get(Category, category_id)
    if category is None:
        abort(404)
    categories.set_active(category.name, action == "activate", user_id=current_user.id)
    flash(f"Category {category.name} {'reactivated' if action == 'activate' else 'deactivated'}.", "success")
    return redirect(url_for("classify.index"), code=303)


@bp.route("/<int:category_id>/edit", methods=["GET", "POST"])
def edit(category_id: int):
    """Rename a category, change what it is for and its colour (a page of its own: works without scripts)."""
    category = db.session.get(Category, category_id)
    if category is None:
        abort(404, description=f"There is no category number {category_id}.")
    form = EditCategoryForm(obj=category)
    status = 200
    if form.validate_on_submit():
        try:
            was = category.name
            categories.update_category(
                category_id,
                name=form.name.data,
                description=form.description.data,
                colour=form.colour.data,
                user_id=current_user.id,
            )
        except categories.CategoryError as error:
            wrong = form.name if isinstance(error, categories.CategoryExists) or "name" in str(error) else form.colour
            wrong.errors = [*wrong.errors, str(error)]
            status = error.status_code
            db.session.rollback()
            category = db.session.get(Category, category_id)
        else:
            renamed = f" (was {was})" if category.name != was else ""
            flash(f"Category {category.name} saved{renamed}.", "success")
            return redirect(url_for("classify.index"), code=303)
    elif request.method == "POST":
        status = 400
    return render_template("classify/edit.html", form=form, category=category), status
