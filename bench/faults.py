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
    # Finally let it run to a nearby target: the run must continue from its last checkpoint and finish.
    resume = ["--resume"] if (run / "latest.pt").exists() else []
    finish = [a if a != 100_000 else previous + 5 for a in args]
    artgan(*finish, *resume)
    step, bad = check_run(run)
    corrupt += bad
    completed = step == previous + 5
    return {"command": "train", "kills": killed, "recovered": recovered, "lost": lost, "corrupt": corrupt,
            "completed": completed, "final_step": step}  # fmt: skip


def check_series(folder: Path, seeds: range) -> tuple[int, list[str]]:
    """(missing images, problems) of a finished series: every file valid, matching its manifest line."""
    from PIL import Image

    from artgan.files import sha256_file
    from artgan.provenance import read_record

    rows = {row["seed"]: row for row in map(json.loads, (folder / "manifest.jsonl").read_text().splitlines())}
    missing = len(set(seeds) - set(rows))
    problems = []
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
                problems.append(f"{path.name}: does not match its manifest line")
        except Exception as exc:
            problems.append(f"{path.name}: {exc}")
    problems += [f"{p.name}: not asked for" for p in folder.iterdir() if p.name.startswith("seed-") and int(p.stem[5:]) not in seeds]
    problems += [f"{p.name}: temporary file left" for p in folder.iterdir() if p.name.endswith(".part")]
    return missing, problems


def fault_render(work: Path, kills: int, rng: random.Random, run: Path) -> dict:
    folder = work / "series"
    seeds = range(5000)  # long enough that no run between two kills finishes it
    args = ["render", run, "--series", len(seeds), "-o", folder, "--device", "cpu", "--size", 384, "--batch", 4]
    killed = 0
    while killed < kills and kill_at_random(args, 1.5, 6.0, rng):
        killed += 1
    artgan(*args)
    missing, problems = check_series(folder, seeds)
    for problem in problems:
        print("  render:", problem, flush=True)
    return {"command": "render --series", "kills": killed, "recovered": killed if not missing else 0,
            "lost": missing, "corrupt": len(problems), "completed": not missing and not problems}  # fmt: skip


def leftovers(folder: Path) -> int:
    return len([p for p in folder.rglob("*") if p.name.endswith(".part")]) if folder.exists() else 0


def fault_walk(work: Path, kills: int, rng: random.Random, run: Path) -> dict:
    """A killed walk must never leave a file under the final name unless it is whole."""
    from artgan.errors import RenderError
    from artgan.video import probe

    def frames(path: Path) -> int:
        try:
            info = probe(path)
        except RenderError:
            return -1
        return round(info.duration_s * info.fps)

    out = work / "walk" / "loop.mp4"
    out.parent.mkdir()
    args = ["walk", run, "--seeds", "1,2,3", "--frames-per-seed", 200, "--size", 96, "--device", "cpu", "-o", out]
    start = time.perf_counter()
    artgan(*args)  # once whole, to kill the others somewhere between start-up and the end
    whole_s = time.perf_counter() - start
    killed = corrupt = tries = 0
    while killed < kills and tries < 4 * kills:
        tries += 1
        out.unlink(missing_ok=True)  # each try starts fresh, so a file there can only come from this try
        if kill_at_random(args, 0.3 * whole_s, 0.97 * whole_s, rng):
            killed += 1
        if out.exists():
            corrupt += frames(out) != 600
    artgan(*args)
    return {"command": "walk (mp4)", "kills": killed, "recovered": killed if frames(out) == 600 else 0,
            "lost": 0, "corrupt": corrupt, "leftover_temp_files": leftovers(out.parent)}  # fmt: skip


def check_ledger(folder: Path) -> tuple[int, int, int]:
    """(issued numbers, numbers issued twice, ledger lines whose file is missing or changed)."""
    from artgan.files import sha256_file

    rows = [json.loads(line) for line in (folder / "ledger.jsonl").read_text().splitlines()] if (folder / "ledger.jsonl").exists() else []
    labels = [row["number"] for row in rows if not row.get("replaces")]
    bad = sum(1 for row in rows if not (folder / row["file"]).exists() or sha256_file(folder / row["file"]) != row["sha256"])
    return len(set(labels)), len(labels) - len(set(labels)), bad


def fault_edition(work: Path, kills: int, rng: random.Random, run: Path) -> dict:
    folder = work / "edition"
    args = ["edition", run, "--seed", 3, "--size", "16x20in", "--dpi", 300, "--edition", 60, "--proofs", 2,
            "--device", "cpu", "-o", folder]  # fmt: skip
    killed = twice = bad = 0
    issued_before = 0
    lost = 0
    while killed < kills and kill_at_random(args, 2.0, 8.0, rng):
        killed += 1
        issued, doubled, broken = check_ledger(folder)
        twice += doubled
        bad += broken
        lost += issued < issued_before
        issued_before = issued
    artgan(*args)
    issued, doubled, broken = check_ledger(folder)
    prints = len(list(folder.glob("*.tif")))
    return {"command": "edition", "kills": killed, "recovered": killed if issued == 62 and prints == 62 else 0,
            "lost": lost, "corrupt": bad + broken + twice + doubled, "leftover_temp_files": leftovers(folder)}  # fmt: skip


def sha256_of(path: Path) -> str | None:
    from artgan.files import sha256_file

    return sha256_file(path) if path.exists() else None


def fault_disk(work: Path, run: Path) -> list[dict]:
    """A full disk and a read-only disk (a small tmpfs; needs root): one clear line, earlier files intact."""
    mount = work / "small-disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount)], capture_output=True).returncode:
        print("  (skipping full/read-only disk: mounting a small tmpfs needs root)")
        return []
    rows = []
    try:
        folder = mount / "series"
        args = ["render", run, "--series", 100, "-o", folder, "--device", "cpu", "--size", 512, "--signature", "none"]
        full = artgan(*args, check=False)
        message = [line for line in full.stderr.splitlines() if line.strip()]
        # Finished means: in the manifest. An image whose manifest line did not fit is redone by the re-run.
        finished = sorted(json.loads(line)["seed"] for line in (folder / "manifest.jsonl").read_text().splitlines())
        _, problems = check_series(folder, finished)
        problems = [p for p in problems if "not asked for" not in p]
        rows.append({"command": "render on a full disk", "kills": 0, "recovered": int(full.returncode == 1),
                     "lost": 0, "corrupt": len(problems), "exit": full.returncode, "message": message[-1:]})  # fmt: skip
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        readonly = artgan(*args, check=False)
        message = [line for line in readonly.stderr.splitlines() if line.strip()]
        _, problems = check_series(folder, finished)
        missing = [p for p in problems if "not asked for" not in p]
        rows.append({"command": "render on a read-only disk", "kills": 0, "recovered": int(readonly.returncode == 1),
                     "lost": len(missing), "corrupt": 0, "exit": readonly.returncode, "message": message[-1:]})  # fmt: skip
        # Room again: the same command finishes the series, keeping what was there.
        subprocess.run(["mount", "-o", "remount,rw,size=200m", str(mount)], check=True)
        before = {seed: sha256_of(folder / f"seed-{seed:07d}.png") for seed in finished}
        again = artgan(*args, check=False)
        missing, problems = check_series(folder, range(100))
        kept = sum(sha256_of(folder / f"seed-{seed:07d}.png") == digest for seed, digest in before.items())
        rows.append({"command": "the same render with room again", "kills": 0, "recovered": int(again.returncode == 0 and not missing),
                     "lost": len(before) - kept, "corrupt": len(problems), "exit": again.returncode,
                     "message": [f"{kept} of {len(before)} finished images kept as they were, {100 - len(before)} rendered"]})  # fmt: skip
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)
    for row in rows:
        print(f"  {row['command']}: exit {row['exit']}, {row['message']}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=20, help="kills per command (walk and edition get half)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["train", "render", "walk", "edition", "disk"], action="append")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="artgan-faults-"))
    os.environ["ARTGAN_QUIET"] = "1"
    rows = []
    try:
        only = set(args.only or ["train", "render", "walk", "edition", "disk"])
        train_result = fault_train(work, args.kills if "train" in only else 1, rng)
        if "train" in only:
            rows.append(train_result)
            print(rows[-1], flush=True)
        if "render" in only:
            rows.append(fault_render(work, args.kills, rng, work / "run"))
            print(rows[-1], flush=True)
        if "walk" in only:
            rows.append(fault_walk(work, max(1, args.kills // 2), rng, work / "run"))
            print(rows[-1], flush=True)
        if "edition" in only:
            rows.append(fault_edition(work, max(1, args.kills // 2), rng, work / "run"))
            print(rows[-1], flush=True)
        if "disk" in only:
            rows += fault_disk(work, work / "run")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table("fault injection (SIGKILL at a random moment, then the same command again)",
          ["command", "kills", "runs recovered", "finished outputs lost", "corrupt files"],
          [[r["command"], r["kills"], r["recovered"], r["lost"], r["corrupt"]] for r in rows])  # fmt: skip
    save("faults", {"rows": rows})


if __name__ == "__main__":
    main()
