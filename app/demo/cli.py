"""`flask demo seed`: realistic demo data at size, the same for the same options (see `app.demo.seed`)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.demo import seed as demo

demo_cli = AppGroup("demo", help="Demo data for trying the app and measuring it at size.")


@demo_cli.command("seed")
@click.option("--documents", default=1_000, show_default=True, type=click.IntRange(min=0), help="Processed documents.")
@click.option("--products", default=200, show_default=True, type=click.IntRange(min=0))
@click.option(
    "--movements",
    default=10_000,
    show_default=True,
    type=click.IntRange(min=0),
    help="Ledger movements in all (each product's opening balance and the orders' own included).",
)
@click.option("--orders", default=500, show_default=True, type=click.IntRange(min=0))
@click.option("--reviews", default=100, show_default=True, type=click.IntRange(min=0), help="Documents reviewed.")
@click.option("--seed", "seed_value", default=1, show_default=True, help="The same seed gives the same data.")
@click.option("--force", is_flag=True, help="Add the demo data even though the database holds data of its own.")
def seed_command(
    documents: int, products: int, movements: int, orders: int, reviews: int, seed_value: int, force: bool
) -> None:
    """Fill this instance with demo data: documents, products, movements, orders, reviews; then index and alert."""
    current: list = []  # [name, bar] of the step under way: one bar at a time, closed when the next starts

    def progress(what: str, done: int, of: int) -> None:
        if not current or current[0] != what:
            close()
            bar = click.progressbar(length=max(of, 1), label=f"{what:>14}", file=sys.stderr, show_pos=True)
            bar.__enter__()
            current[:] = [what, bar]
        bar = current[1]
        bar.length = max(of, done, 1)
        bar.update(done - bar.pos)

    def close() -> None:
        if current:
            current[1].__exit__(None, None, None)
            current.clear()

    try:
        seeded = demo.seed(
            documents=documents,
            products=products,
            movements=movements,
            orders=orders,
            reviews=reviews,
            seed=seed_value,
            force=force,
            progress=progress,
        )
    except demo.NotEmpty as error:
        raise click.ClickException(
            f"{error} Seeding would mix demo rows into it; run with --force to add them anyway."
        ) from None
    finally:
        close()
    click.echo(
        f"Seeded {seeded.documents:,} documents ({seeded.reviews:,} reviewed, {seeded.indexed:,} indexed), "
        f"{seeded.products:,} products, {seeded.movements:,} movements and {seeded.orders:,} orders "
        f"in {seeded.seconds:.1f} s."
    )
