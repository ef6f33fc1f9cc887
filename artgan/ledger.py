"""Edition numbers (k/N and artist's proofs) and the ledger that makes sure each is issued only once.

The ledger is `ledger.jsonl` in the edition folder: one line per issued print, appended only after its
file and certificate are in place, so a crash leaves at worst an unlisted file that the next run redoes.
A number issued again (with --force) gets a new line naming the sha256 it replaces; the last line wins.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import RenderError, UsageError
from .files import append_line, read_jsonl, sha256_file

LEDGER = "ledger.jsonl"


def max_proofs(edition: int) -> int:
    """Artist's proofs allowed: 10 % of N rounded down, but one for any edition of 5 or more."""
    return max(edition // 10, 1 if edition >= 5 else 0)


@dataclass(frozen=True)
class Number:
    """One print's number: k of N, or artist's proof k of P."""

    k: int
    of: int
    proof: bool = False

    @property
    def label(self) -> str:
        return f"AP {self.k}/{self.of}" if self.proof else f"{self.k}/{self.of}"

    @property
    def slug(self) -> str:
        """For file names: 03of25, AP1of2 (zero-padded so files sort in order)."""
        width = len(str(self.of))
        return f"{'AP' if self.proof else ''}{self.k:0{width}d}of{self.of}"

    def describe(self) -> str:
        return f"artist's proof {self.k} of {self.of}" if self.proof else f"number {self.k} of {self.of}"


def edition_numbers(edition: int, proofs: int) -> list[Number]:
    if edition < 1:
        raise UsageError(f"--edition {edition}: an edition has at least 1 print")
    if not 0 <= proofs <= max_proofs(edition):
        raise UsageError(
            f"--proofs {proofs}: an edition of {edition} allows at most {max_proofs(edition)} artist's proofs "
            "(about 10 % of the edition, at least 1 from 5 prints up)"
        )
    return [Number(k, edition) for k in range(1, edition + 1)] + [Number(k, proofs, True) for k in range(1, proofs + 1)]


def select(numbers: list[Number], spec: str | None) -> list[Number]:
    """'all' or a list like 1-5,9,AP1-2 -> those numbers, in edition order."""
    if spec is None or spec.strip().lower() == "all":
        return numbers
    if not spec.strip():
        raise UsageError("--numbers is empty; give e.g. 1-5,AP1, or leave it out for the whole edition")
    wanted: set[Number] = set()
    by_key = {(n.proof, n.k): n for n in numbers}
    for part in spec.replace(" ", "").upper().split(","):
        match = re.fullmatch(r"(AP)?(\d+)(?:-(?:AP)?(\d+))?", part)
        if not match:
            raise UsageError(f"--numbers {spec!r}: {part!r} is not a number or range like 1-5 or AP1-2")
        proof, first = bool(match.group(1)), int(match.group(2))
        last = int(match.group(3) or first)
        if last < first:
            raise UsageError(f"--numbers {spec!r}: the range {part} ends before it starts")
        for k in range(first, last + 1):
            if (proof, k) not in by_key:
                kind = "artist's proofs" if proof else "numbers"
                count = sum(1 for n in numbers if n.proof == proof)
                raise UsageError(f"--numbers {spec!r}: {'AP' if proof else ''}{k} is outside the {count} {kind} of this edition")
            wanted.add(by_key[(proof, k)])
    return [n for n in numbers if n in wanted]


@dataclass
class IssuePlan:
    """What a run will do with each requested number."""

    make: list[Number] = field(default_factory=list)
    done: list[Number] = field(default_factory=list)
    replaces: dict[str, str] = field(default_factory=dict)  # label -> sha256 of the print it supersedes
    redo_unlisted: int = 0  # files present but never entered in the ledger (a run stopped mid-print)


class Ledger:
    """The issued prints of one edition folder (read it and append to it under the folder's lock)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / LEDGER
        self.rows = read_jsonl(self.path)

    def current(self) -> dict[str, dict[str, Any]]:
        """The latest line for every issued number."""
        latest: dict[str, dict[str, Any]] = {}
        for row in self.rows:
            if isinstance(row.get("number"), str):
                latest[row["number"]] = row
        return latest

    def issue(self, row: dict[str, Any]) -> None:
        if self.path.exists() and self.path.read_bytes()[-1:] not in (b"\n", b""):
            append_line(self.path, "")  # a line cut short by a crash must not swallow this one
        append_line(self.path, json.dumps(row, ensure_ascii=False, sort_keys=True))
        self.rows.append(row)

    def intact(self, row: dict[str, Any]) -> bool:
        """The print and certificate the line names are there, and the print is byte for byte the one issued."""
        path, certificate = self.folder / str(row.get("file", "")), self.folder / str(row.get("certificate", ""))
        if not path.is_file() or not certificate.is_file() or path.stat().st_size != row.get("bytes"):
            return False
        return sha256_file(path) == row.get("sha256")

    def plan(self, numbers: list[Number], settings: dict[str, Any], force: bool) -> IssuePlan:
        """Skip what is issued and intact; refuse to issue a number twice unless forced."""
        current = self.current()
        plan = IssuePlan()
        other_settings = [row for row in current.values() if row.get("settings") != settings]
        if other_settings and not force:
            labels = ", ".join(_few(sorted(current, key=_order)))
            raise RenderError(
                f"{self.folder} already holds an edition ({labels}) made with other settings "
                f"({_differences(other_settings[0].get('settings') or {}, settings)}); an edition is never reprinted: "
                "use another -o folder, or --force to re-issue the numbers asked for"
            )
        broken = []
        for number in numbers:
            row = current.get(number.label)
            if row is None:
                plan.make.append(number)
                plan.redo_unlisted += (self.folder / print_name(number, settings.get("format", "tif"))).exists()
            elif row.get("settings") == settings and self.intact(row):
                if force:
                    plan.make.append(number)
                    plan.replaces[number.label] = str(row.get("sha256"))
                else:
                    plan.done.append(number)
            elif force:
                plan.make.append(number)
                plan.replaces[number.label] = str(row.get("sha256"))
            else:
                broken.append(number.label)
        if broken:
            raise RenderError(
                f"{', '.join(_few(broken))} already issued in {self.path}, but the file or certificate is missing "
                "or has changed since; restore it, or give --force to issue that number again"
            )
        return plan


def print_name(number: Number, fmt: str) -> str:
    return f"print-{number.slug}.{fmt}"


def certificate_name(number: Number) -> str:
    return f"certificate-{number.slug}.pdf"


def _order(label: str) -> tuple[int, int]:
    proof = label.startswith("AP")
    return (proof, int(label.removeprefix("AP ").split("/")[0]))


def _few(labels: list[str], limit: int = 4) -> list[str]:
    return labels if len(labels) <= limit else labels[:limit] + [f"… {len(labels) - limit} more"]


def _differences(before: dict[str, Any], now: dict[str, Any]) -> str:
    keys = [k for k in sorted(set(before) | set(now)) if before.get(k) != now.get(k)]
    parts = [f"{k} {_short(before.get(k))} there, {_short(now.get(k))} now" for k in keys[:4]]
    return "; ".join(parts) + (f"; and {len(keys) - 4} more" if len(keys) > 4 else "")


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else repr(value)
    return text if len(text) <= 60 else text[:57] + "…"
