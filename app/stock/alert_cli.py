"""`flask alerts …`: run the low-stock check now, and list alerts, from the shell."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.extensions import db
from app.stock import alerts, queries

alerts_cli = AppGroup("alerts", help="Low-stock alerts: check now, list.")


@alerts_cli.command("check")
def check() -> None:
    """Open and close alerts to match the stock now, send any notice still unsent, and say what changed."""
    result = alerts.check()
    for sku in result.opened:
        click.echo(f"opened  {sku}")
    for sku in result.closed:
        click.echo(f"closed  {sku}")
    click.echo(
        f"{len(result.opened)} opened, {len(result.closed)} closed, {len(result.notified)} noticed; "
        f"{alerts.open_alert_count()} open now."
    )


@alerts_cli.command("list")
@click.option(
    "--status", type=click.Choice(["open", "closed", "all"]), default="open", show_default=True, help="Which alerts."
)
def list_alerts(status: str) -> None:
    """Alerts, open ones first: SKU, since when, on hand / threshold, how short, who is on it."""
    rows = db.session.scalars(queries.alert_query(queries.AlertFilter(status=status)).limit(1000)).all()
    if not rows:
        click.echo("No open alerts: nothing is low." if status == "open" else "No alerts.")
        return
    for a in rows:
        p = a.product
        if a.is_open:
            state = f"open since {a.opened_at:%Y-%m-%d %H:%M}  {p.on_hand}/{p.low_stock_threshold} {p.unit}"
            state += f", short {p.shortfall}"
            if a.acknowledger:
                state += f", {a.acknowledger.email} is on it"
        else:
            state = f"closed {a.closed_at:%Y-%m-%d %H:%M} (was {a.on_hand_at_open}/{a.threshold_at_open})"
        click.echo(f"{p.sku:<20} {state}")
