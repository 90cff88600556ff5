"""`flask categories …`: list, create, rename, deactivate and seed document categories."""

from __future__ import annotations

from collections.abc import Callable

import click
from flask.cli import AppGroup

from app.classify import categories as service
from app.classify.models import Category

categories_cli = AppGroup("categories", help="Document categories.")


@categories_cli.command("list")
def list_categories() -> None:
    """Every category, active first."""
    for category in service.list_categories():
        state = "" if category.active else "  (inactive)"
        known_as = f"  (the models know it as {category.key})" if category.key != category.name else ""
        click.echo(f"{category.name:<20} {category.colour}  {category.description or ''}{state}{known_as}")


def _refused_as_click_error(change: Callable[[], Category]) -> Category:
    """Run a category change, turning a refusal into the one-line error click prints (exit status 1)."""
    try:
        return change()
    except service.CategoryError as error:
        raise click.ClickException(str(error)) from None


@categories_cli.command("create")
@click.argument("name")
@click.option("--description", help="What belongs in it, in a sentence.")
@click.option("--colour", default="#6b7280", show_default=True, help="A colour like #2563eb for labels.")
def create(name: str, description: str | None, colour: str) -> None:
    """Add a category NAME."""
    category = _refused_as_click_error(
        lambda: service.create_category(name, description=description, colour=colour, user_id=None)
    )
    click.echo(f"Created category {category.name}.")


@categories_cli.command("rename")
@click.argument("name")
@click.argument("new_name")
def rename(name: str, new_name: str) -> None:
    """Call category NAME by NEW_NAME from now on (the models go on filing under it)."""

    was: list[str] = []

    def change() -> Category:
        category = service.find(name)
        was.append(category.name)
        return service.update_category(
            category.id, name=new_name, description=category.description, colour=category.colour, user_id=None
        )

    category = _refused_as_click_error(change)
    click.echo(f"Category {was[0]} is now called {category.name}.")


@categories_cli.command("deactivate")
@click.argument("name")
def deactivate(name: str) -> None:
    """Retire category NAME: documents keep it; new filing cannot use it."""
    category = _refused_as_click_error(lambda: service.set_active(name, False, user_id=None))
    click.echo(f"Category {category.name} is deactivated.")


@categories_cli.command("activate")
@click.argument("name")
def activate(name: str) -> None:
    """Bring back a deactivated category NAME."""
    category = _refused_as_click_error(lambda: service.set_active(name, True, user_id=None))
    click.echo(f"Category {category.name} is active.")


@categories_cli.command("seed")
def seed() -> None:
    """Create the default categories that are missing (safe to run again)."""
    added = service.ensure_default_categories()
    click.echo(f"{added} default categories added; {service.count()} in all.")
