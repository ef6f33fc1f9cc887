"""One rich console on stderr, progress bars, and the quiet switch."""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True, highlight=False, soft_wrap=True)
_quiet = bool(os.environ.get("ARTGAN_QUIET"))


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def is_quiet() -> bool:
    return _quiet


def info(message: str) -> None:
    """A line for the person at the terminal (never on stdout, so pipes stay clean)."""
    if not _quiet:
        console.print(message)


def warn(message: str) -> None:
    console.print(f"[yellow]warning:[/] {message}")


def progress(*extra_columns: TextColumn) -> Progress:
    """A progress bar that switches itself off when quiet or not on a terminal."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        *extra_columns,
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        disable=_quiet or not sys.stderr.isatty(),
        transient=False,
    )
