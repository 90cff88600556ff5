"""The rules about categories: names unique, defaults seeded once, retired rather than deleted.

A category is deactivated, never deleted, so documents filed under it and old
model versions that predict it keep a meaning. Its name can change; its key (the
name it was created with, which the models answer with) never does. Plain
functions, one transaction each, audited.
"""

from __future__ import annotations

import re

from sqlalchemy import func, or_, select

from app.classify import registry
from app.classify.models import Category
from app.errors import Conflict, DomainError, NotFound
from app.extensions import db
from app.ops import audit
from app.search import outbox

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
    """The category called `name` now, or (for scripts written before a rename) the one with that key."""
    wanted = _clean_name(name)
    found = db.session.scalars(select(Category).where(or_(Category.name == wanted, Category.key == wanted))).all()
    category = next((c for c in found if c.name == wanted), found[0] if found else None)
    if category is None:
        raise CategoryNotFound(f"There is no category {name.strip()!r}.")
    return category


def create_category(
    name: str, *, description: str | None = None, colour: str | None = None, user_id: int | None
) -> Category:
    """Add a category (names are compared without regard to case or extra spaces)."""
    name = _clean_name(name)
    colour = _clean_colour(colour)
    _refuse_taken(name)
    category = Category(
        name=name, key=_free_key(name), description=(description or "").strip()[:500] or None, colour=colour
    )
    db.session.add(category)
    db.session.flush()
    _commit_change("category.create", category.id, f"Created category {name}", user_id)
    return category


def _refuse_taken(name: str, but: int | None = None) -> None:
    query = select(Category.id).where(Category.name == name)
    if but is not None:
        query = query.where(Category.id != but)
    if db.session.scalar(query) is not None:
        raise CategoryExists(f"A category {name!r} already exists.")


def _free_key(name: str) -> str:
    """The name itself, unless a renamed category's models still answer with it ("invoice" -> "invoice 2")."""
    taken = set(db.session.scalars(select(Category.key).where(Category.key.startswith(name[:56]))))
    key, number = name, 1
    while key in taken:
        number += 1
        key = f"{name[:56]} {number}"
    return key


def _clean_colour(raw: str | None) -> str:
    colour = (raw or "#6b7280").strip()
    if not _COLOUR.match(colour):
        raise CategoryError(f"{colour!r} is not a colour like #2563eb.")
    return colour.lower()


def update_category(
    category_id: int,
    *,
    description: str | None,
    colour: str | None,
    user_id: int | None,
    name: str | None = None,
) -> Category:
    """Change a category's name, what it is for and its colour.

    A new name is what every page, list, filter and search (`category:…`) shows from now on; the
    search index learns it for the category's documents through the outbox. The models keep
    answering with the category's key, so nothing they learnt or suggested is lost.
    """
    category = db.session.get(Category, category_id)
    if category is None:
        raise CategoryNotFound(f"There is no category number {category_id}.")
    was = category.name
    before = {"name": category.name, "description": category.description, "colour": category.colour}
    if name is not None:
        new_name = _clean_name(name)
        _refuse_taken(new_name, but=category.id)
        category.name = new_name
    category.description = (description or "").strip()[:500] or None
    category.colour = _clean_colour(colour)
    after = {"name": category.name, "description": category.description, "colour": category.colour}
    changed = [field for field in after if after[field] != before[field]]
    if not changed:
        db.session.rollback()
        return category
    renamed = "name" in changed
    if renamed:
        outbox.note_category(category.id)  # its documents are found under the new name
    audit.record_about(
        category,
        "category.update",
        f"Renamed category {was} to {category.name}"
        if changed == ["name"]
        else f"Changed the {', '.join(changed)} of category {was}",
        user_id,
        before={field: before[field] for field in changed},
        after={field: after[field] for field in changed},
    )
    db.session.commit()
    registry.note_change()
    if renamed:
        outbox.request_drain()
    return category


def names_by_key() -> dict[str, str]:
    """Each category's current name by its key: the models' answers as people read them."""
    return dict(db.session.execute(select(Category.key, Category.name)).all())


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
    # A default that was renamed keeps its key: it is not added again under its old name.
    existing = set(db.session.scalars(select(Category.key))) | set(db.session.scalars(select(Category.name)))
    added = 0
    for name, description, colour in DEFAULT_CATEGORIES:
        if name not in existing:
            db.session.add(Category(name=name, key=name, description=description, colour=colour))
            added += 1
    if added:
        _commit_change("category.seed", None, f"Added {added} default categories", None)
    else:
        db.session.commit()
    return added


def count() -> int:
    return db.session.scalar(select(func.count(Category.id)))
