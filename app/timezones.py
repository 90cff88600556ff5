"""Times in the reader's time zone: stored in UTC everywhere, shown in the zone each person reads in.

Every timestamp column holds UTC (app.db_types). Only the moment a page shows one does it become local
time, through the `local` filter and the `time_zone_label()` global that app.web registers. The zone is
the signed-in person's `time_zone` (chosen on their account page, or taken from their browser at
sign-in); everyone else reads UTC: a signed-out visitor, a person who has not chosen one yet, an email a
worker renders, the CLI. CSV files and the CLI stay in UTC on purpose: programs read them, and people
in different zones compare them.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, available_timezones

from flask import has_request_context
from flask_login import current_user
from markupsafe import Markup, escape

DEFAULT_ZONE = "UTC"
MAX_ZONE_NAME = 64  # the column's width; the longest IANA name has 32 characters
DATE_TIME = "%Y-%m-%d %H:%M"
# Names the zone database lists that are no place a person lives in: the server's own setting (it
# would follow whatever machine renders the page) and the database's placeholders.
_NOT_PLACES = frozenset({"localtime", "Factory", "posixrules", "posix/Factory"})
# Zones without a region (GMT, EST5EDT, Etc/GMT+5, …) are listed together under this heading.
OTHER_REGION = "Other"


@functools.cache
def known_zones() -> frozenset[str]:
    """Every zone a person may choose: the system's zone database, or the tzdata package where it has none."""
    return frozenset(available_timezones() - _NOT_PLACES)


def is_known_zone(name: object) -> bool:
    """True when `name` is exactly an IANA zone name this installation can show times in."""
    return isinstance(name, str) and 0 < len(name) <= MAX_ZONE_NAME and name in known_zones()


@functools.cache
def zone_groups() -> tuple[tuple[str, str, str], ...]:
    """Every known zone as (region, name, label) for a select, by region then name; the regionless ones last.

    The label is the whole name ("America/New York"): a closed select shows only the label, and "Berlin"
    alone would hide which region the list put it under.
    """
    rows = []
    for name in known_zones():
        region, _, place = name.partition("/")
        if not place or region == "Etc":
            region = OTHER_REGION
        rows.append((region, name, name.replace("_", " ")))
    return tuple(sorted(rows, key=lambda row: (row[0] == OTHER_REGION, row[0], row[1])))


def zone(name: str | None) -> tzinfo:
    """The zone called `name`; UTC for no name or one the database does not know (a page never fails on it)."""
    if name != DEFAULT_ZONE and is_known_zone(name):
        return ZoneInfo(name)  # type: ignore[arg-type]  # ZoneInfo keeps its own cache of loaded zones
    return UTC


def reader_zone_name() -> str:
    """The zone of the person this page is for: theirs when signed in and chosen, else UTC."""
    if has_request_context() and current_user.is_authenticated:
        name = getattr(current_user, "time_zone", None)
        if is_known_zone(name):
            return name
    return DEFAULT_ZONE


def to_local(moment: datetime, zone_name: str | None = None) -> datetime:
    """`moment` in `zone_name` (default: the reader's zone); a naive datetime counts as UTC, as stored."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone(zone_name or reader_zone_name()))


def local(moment: datetime | None, fmt: str = DATE_TIME, *, zoned: bool = False) -> str:
    """The `local` filter: `moment` as the reader's wall clock shows it ("2026-12-01 17:46").

    `fmt` is a strftime format (`local('%H:%M')`, `local('%Y-%m-%d %H:%M:%S')`, `local('%Y-%m-%d')`).
    `zoned=True` adds the zone's short name at that moment ("17:46 CET"), for sentences; a table says
    the zone once, in its header (`time_zone_label()`). None gives an empty string.
    """
    if moment is None:
        return ""
    shown = to_local(moment)
    text = shown.strftime(fmt)
    return f"{text} {shown.tzname()}" if zoned else text


def time_zone_label() -> Markup:
    """The reader's zone for a column header ("Uploaded (Europe/Berlin)"), allowed to wrap after each slash.

    The IANA name rather than the short name: one column can hold winter and summer times (CET and
    CEST), and the name is right for both.
    """
    return Markup("/<wbr>").join(escape(part) for part in reader_zone_name().split("/"))
