"""Fault injection: start each long command, SIGKILL it at a random moment, run it again, check nothing is lost.

Prints a table: command, kills, runs recovered, finished outputs lost, corrupt files found.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import save, table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import make_folder  # noqa: E402  (tiny pictures for a tiny corpus)

ARTGAN = [sys.executable, "-m", "artgan"]
TINY = ["--set", "net.ngf=8", "--set", "net.ndf=8", "--set", "net.nz=16", "--device", "cpu"]


def artgan(*args, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([*ARTGAN, *map(str, args)], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"artgan {' '.join(map(str, args))} failed:\n{result.stderr[-2000:]}")
    return result


def kill_at_random(args: list, low_s: float, high_s: float, rng: random.Random) -> bool:
    """Start the command and SIGKILL it after a random delay; True if it was killed (not already done)."""
    child = subprocess.Popen([*ARTGAN, *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        child.wait(timeout=rng.uniform(low_s, high_s))
        return False
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGKILL)
        child.wait()
        return True


def check_run(run: Path) -> tuple[int, int]:
    """(latest step, corrupt files) of a run folder."""
    from artgan.errors import CheckpointError
    from artgan.run import load_checkpoint

    corrupt = 0
    for path in [run / "latest.pt", *sorted((run / "checkpoints").glob("*.pt"))] if (run / "latest.pt").exists() else []:
        try:
            load_checkpoint(path)
        except CheckpointError:
            corrupt += 1
    log = run / "log.jsonl"
    if log.exists():
        for line in log.read_text().splitlines():
            try:
                json.loads(line)
            except json.JSONDecodeError:
                corrupt += 1
    step = load_checkpoint(run / "latest.pt")["step"] if (run / "latest.pt").exists() else 0
    return step, corrupt


def fault_train(work: Path, kills: int, rng: random.Random) -> dict:
    corpus = work / "corpus"
    artgan("corpus", make_folder(work / "src", count=12), "-o", corpus, "--size", 32)
    run = work / "run"
    args = ["train", corpus, "--out", run, "--res", 32, "--batch", 4, "--steps", 100_000, *TINY,
            "--set", "train.checkpoint_every=5", "--set", "train.sample_every=5", "--set", "train.log_every=1"]  # fmt: skip
    killed = recovered = lost = corrupt = 0
    previous = 0
    while killed < kills:
        resume = ["--resume"] if (run / "latest.pt").exists() else []
        if kill_at_random(args + resume, 4.0, 12.0, rng):
            killed += 1
        step, bad = check_run(run)
        corrupt += bad
        lost += step < previous  # a finished checkpoint went missing
        recovered += step >= previous
        previous = step
    return {"command": "train", "kills": killed, "recovered": recovered, "lost": lost, "corrupt": corrupt, "final_step": previous}


def check_series(folder: Path, seeds: range) -> tuple[int, int]:
    """(missing images, corrupt or mismatched files) of a finished series."""
    from PIL import Image

    from artgan.files import sha256_file
    from artgan.provenance import read_record

    rows = {row["seed"]: row for row in map(json.loads, (folder / "manifest.jsonl").read_text().splitlines())}
    missing = len(set(seeds) - set(rows))
    corrupt = 0
    for seed in seeds:
        row = rows.get(seed)
        if row is None:
            continue
        path = folder / row["file"]
        try:
            with Image.open(path) as image:
                image.load()
            record = read_record(path)
            if sha256_file(path) != row["sha256"] or record["seed"] != seed or record["model"] != row["model"]:
                corrupt += 1
        except Exception:
            corrupt += 1
    extra = [p for p in folder.iterdir() if p.name.startswith("seed-") and int(p.stem[5:]) not in seeds]
    return missing, corrupt + len(extra) + len([p for p in folder.iterdir() if p.suffix == ".part"])


def fault_render(work: Path, kills: int, rng: random.Random, run: Path) -> dict:
    folder = work / "series"
    seeds = range(120)
    args = ["render", run, "--series", len(seeds), "-o", folder, "--device", "cpu", "--size", 128, "--batch", 4]
    killed = 0
    while killed < kills and kill_at_random(args, 2.0, 5.0, rng):
        killed += 1
    artgan(*args)
    missing, corrupt = check_series(folder, seeds)
    return {"command": "render --series", "kills": killed, "recovered": int(missing == 0), "lost": missing, "corrupt": corrupt}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=20, help="kills per command (walk and edition get half)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["train", "render", "walk", "edition"], action="append")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="artgan-faults-"))
    os.environ["ARTGAN_QUIET"] = "1"
    rows = []
    try:
        only = set(args.only or ["train", "render", "walk", "edition"])
        train_result = fault_train(work, args.kills if "train" in only else 1, rng)
        if "train" in only:
            rows.append(train_result)
            print(rows[-1], flush=True)
        if "render" in only:
            rows.append(fault_render(work, args.kills, rng, work / "run"))
            print(rows[-1], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table("fault injection (SIGKILL at a random moment, then the same command again)",
          ["command", "kills", "runs recovered", "finished outputs lost", "corrupt files"],
          [[r["command"], r["kills"], r["recovered"], r["lost"], r["corrupt"]] for r in rows])  # fmt: skip
    save("faults", {"rows": rows})


if __name__ == "__main__":
    main()
