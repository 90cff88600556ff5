"""The rules about categories: names unique, defaults seeded once, retired rather than deleted.

A category is deactivated, never deleted, so documents filed under it and old
model versions that predict it keep a meaning. Plain functions, one
transaction each, audited.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.classify import registry
from app.classify.models import Category
from app.errors import Conflict, DomainError, NotFound
from app.extensions import db
from app.ops import audit

DEFAULT_CATEGORIES: list[tuple[str, str, str]] = [
    ("invoice", "A supplier's bill for goods or services delivered.", "#2563eb"),
    ("credit note", "A supplier's credit against an earlier invoice.", "#0891b2"),
    ("purchase order", "Our order to a supplier, or a customer's order to us.", "#7c3aed"),
    ("delivery note", "What arrived or was shipped, usually with pallet and carton counts.", "#059669"),
    ("receipt", "Proof of a payment made at a till or online.", "#65a30d"),
    ("price list", "A supplier's prices, often per unit and quantity tier.", "#ca8a04"),
    ("contract", "Terms agreed with a supplier, customer or landlord.", "#9333ea"),
    ("certificate", "Food safety, organic or insurance certificates and their renewals.", "#dc2626"),
    ("correspondence", "Letters and emails that are none of the above.", "#475569"),
    ("other", "Anything that fits no other category.", "#6b7280"),
]
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class CategoryError(DomainError):
    """A category change was refused; the message says why."""


class CategoryNotFound(CategoryError, NotFound):
    """No category has that name or number."""


class CategoryExists(CategoryError, Conflict):
    """Another category has that name."""


def _clean_name(raw: str) -> str:
    name = " ".join((raw or "").split()).lower()
    if not name:
        raise CategoryError("A category needs a name.")
    if len(name) > 64:
        raise CategoryError("A category name can have at most 64 characters.")
    return name


def _commit_change(action: str, category_id: int | None, summary: str, user_id: int | None) -> None:
    """Audit a change to the categories, commit it, and tell the workers, which file by the active ones."""
    audit.record(action, target_type="category", target_id=category_id, summary=summary, actor_id=user_id)
    db.session.commit()
    registry.note_change()


def list_categories(include_inactive: bool = True) -> list[Category]:
    query = select(Category).order_by(Category.active.desc(), Category.name)
    if not include_inactive:
        query = query.where(Category.active.is_(True))
    return list(db.session.scalars(query))


def find(name: str) -> Category:
    category = db.session.scalar(select(Category).where(Category.name == _clean_name(name)))
    if category is None:
        raise CategoryNotFound(f"There is no category {name.strip()!r}.")
    return category


def create_category(
    name: str, *, description: str | None = None, colour: str | None = None, user_id: int | None
) -> Category:
    """Add a category (names are compared without regard to case or extra spaces)."""
    name = _clean_name(name)
    colour = _clean_colour(colour)
    if db.session.scalar(select(Category.id).where(Category.name == name)) is not None:
        raise CategoryExists(f"A category {name!r} already exists.")
    category = Category(name=name, description=(description or "").strip()[:500] or None, colour=colour)
    db.session.add(category)
    db.session.flush()
    _commit_change("category.create", category.id, f"Created category {name}", user_id)
    return category


def _clean_colour(raw: str | None) -> str:
    colour = (raw or "#6b7280").strip()
    if not _COLOUR.match(colour):
        raise CategoryError(f"{colour!r} is not a colour like #2563eb.")
    return colour.lower()


def update_category(category_id: int, *, description: str | None, colour: str | None, user_id: int | None) -> Category:
    """Change what a category is for and its colour. Its name stays: the trained models' answers are category names."""
    category = db.session.get(Category, category_id)
    if category is None:
        raise CategoryNotFound(f"There is no category number {category_id}.")
    before = {"description": category.description, "colour": category.colour}
    category.description = (description or "").strip()[:500] or None
    category.colour = _clean_colour(colour)
    after = {"description": category.description, "colour": category.colour}
    changed = [name for name in after if after[name] != before[name]]
    if not changed:
        db.session.rollback()
        return category
    audit.record_about(
        category,
        "category.update",
        f"Changed the {' and '.join(changed)} of category {category.name}",
        user_id,
        before={name: before[name] for name in changed},
        after={name: after[name] for name in changed},
    )
    db.session.commit()
    registry.note_change()
    return category


def set_active(name: str, active: bool, *, user_id: int | None) -> Category:
    """Retire a category (or bring it back); documents keep it, new filing cannot use it."""
    category = find(name)
    if category.active == active:
        return category
    category.active = active
    action, done = ("category.activate", "Reactivated") if active else ("category.deactivate", "Deactivated")
    _commit_change(action, category.id, f"{done} category {category.name}", user_id)
    return category


def ensure_default_categories() -> int:
    """Create the default categories that do not exist yet; return how many were added."""
    existing = set(db.session.scalars(select(Category.name)))
    added = 0
    for name, description, colour in DEFAULT_CATEGORIES:
        if name not in existing:
            db.session.add(Category(name=name, description=description, colour=colour))
            added += 1
    if added:
        _commit_change("category.seed", None, f"Added {added} default categories", None)
    else:
        db.session.commit()
    return added


def count() -> int:
    return db.session.scalar(select(func.count(Category.id)))
