"""Atomic writes, hashes and locks: a crash never leaves a half-written file under its final name."""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

from .errors import OutputError

_UMASK = os.umask(0o022)  # read once: the only way to learn the umask is to set it
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(final: Path | str, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside `final`; rename it over `final` only if the block succeeds.

    `durable` also flushes the file to the disk before the rename (checkpoints, prints, ledgers). Files
    that a re-run checks and redoes anyway (series images, frames) skip it: a killed process never
    leaves a half file either way, and the flush is most of their write time.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    # The process id in the name lets a later run tell a killed process's leftovers from live work.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.{os.getpid()}-", suffix=".part", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if durable:
            _fsync_file(tmp)
        # mkstemp makes the file private (0600); give it the permissions a plain open() would.
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, final)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise output_error(final, exc) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


_PART_OWNER = re.compile(r"\.(\d+)-[^.]*\.part$")


def remove_stale_parts(folder: Path | str, name: str = "*") -> int:
    """Delete the temporary files that killed artgan processes left in `folder` (for `name`, or all)."""
    folder = Path(folder)
    removed = 0
    pattern = ".*.part" if name == "*" else f".{glob.escape(name)}.*.part"
    for part in folder.glob(pattern) if folder.is_dir() else []:
        owner = _PART_OWNER.search(part.name)
        if owner and not _running(int(owner.group(1))):
            part.unlink(missing_ok=True)
            removed += 1
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # Windows has no harmless signal 0: keep the file
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, owned by someone else
        return True
    return True


def write_bytes(final: Path | str, data: bytes) -> None:
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)


def write_text(final: Path | str, text: str) -> None:
    write_bytes(final, text.encode("utf-8"))


def write_json(final: Path | str, value: object) -> None:
    write_text(final, json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def append_line(path: Path | str, line: str, durable: bool = True) -> None:
    """Append one whole line, flushed to the disk unless not `durable` (a crash can at worst cut the last line)."""
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line.rstrip("\n") + "\n")
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
    except OSError as exc:
        raise output_error(Path(path), exc) from exc


def read_jsonl(path: Path | str) -> list[dict]:
    """Every whole JSON line of a file; a line cut short by a crash is skipped."""
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            rows.append(value)
    return rows


def sha256_file(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


ENVIRONMENT_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG)


def output_error(path: Path, exc: OSError) -> OutputError:
    """Turn a failed write into one line that says what happened and what to do."""
    reasons = {
        errno.ENOSPC: "the disk is full; free some space and run the same command again",
        errno.EDQUOT: "the disk quota is used up; free some space and run the same command again",
        errno.EROFS: "the folder is on a read-only disk; choose another output folder",
        errno.EACCES: "permission denied; choose a folder you can write to",
        errno.EPERM: "permission denied; choose a folder you can write to",
        errno.EFBIG: "the file is larger than this system allows; lower the size or free the limit",
    }
    reason = reasons.get(exc.errno, exc.strerror or str(exc))
    return OutputError(f"cannot write {path}: {reason}")


@contextlib.contextmanager
def exclusive(folder: Path, what: str) -> Iterator[None]:
    """Hold the folder's lock for the block, or refuse at once if another artgan holds it."""
    lock = FileLock(str(folder / ".artgan.lock"), timeout=0)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except Timeout:  # before OSError: filelock's Timeout is a kind of OSError
        raise OutputError(
            f"{folder} is in use by another artgan {what}; wait for it to finish or use another folder"
        ) from None
    except OSError as exc:
        raise output_error(folder, exc) from exc
    try:
        yield
    finally:
        lock.release()


def sync_file(path: Path) -> None:
    """Flush a file written without `durable` to the disk, once, e.g. at the end of a batch of writes."""
    try:
        _fsync_file(Path(path))
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise output_error(Path(path), exc) from exc


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())
