"""What every benchmark prints about the machine it ran on: the load and the libraries' versions."""

from __future__ import annotations

import os
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: other work on the cores shows up in every figure."""
    try:
        return " ".join(f"{n:.2f}" for n in os.getloadavg())
    except OSError:
        return "unknown"


def library_versions(names: Iterable[str]) -> str:
    """ "name version, …" for the distributions a benchmark depends on."""
    found = []
    for name in names:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)
