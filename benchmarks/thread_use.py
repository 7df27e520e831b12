"""How many threads each job of a workflow run keeps busy, against the threads its rule declares.

Runs ``snakemake`` on the sample in resources/ (config/sample.yaml, 2 epochs) in a new folder and
samples every process below it through /proc every 10 ms: a job's busy threads are its threads
in state R (running or waiting for a CPU) at one sample; its CPU load is its CPU time over its
wall time (lower than its busy threads where other work shares the CPUs). Prints a Markdown table, a row per job.

    python benchmarks/thread_use.py [--threads-train 2] [--cores 2] [--workdir DIR]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """Every process below ``pid``."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        kids = [child for child, ppid in parents.items() if ppid == parent]
        found += kids
        todo += kids
    return found


def sample(pid: int) -> tuple[str, int, int, float] | None:
    """(rule script, threads, threads in state R, CPU seconds) of a process, None if not a job."""
    try:
        command = (Path("/proc") / str(pid) / "cmdline").read_text().split("\0")
        script = next(
            (Path(word).name for word in command if word.endswith(".py") and "scripts" in word), None
        )
        if script is None:
            return None
        script = script.split(".", 1)[-1].removesuffix(".py")  # Snakemake runs tmpXXXX.<rule>.py
        states, cpu = [], 0
        for task in (Path("/proc") / str(pid) / "task").iterdir():
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            states.append(fields[0])
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, IndexError):
        return None
    return script, len(states), states.count("R"), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads-train", type=int, default=2)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mnist-cnn-thread-use"))
    args = parser.parse_args()
    if args.workdir.exists() and any(args.workdir.iterdir()):
        sys.exit(f"--workdir {args.workdir} is not empty: remove it or pick another --workdir")
    args.workdir.mkdir(parents=True, exist_ok=True)
    (args.workdir / "resources").symlink_to(REPO / "resources")
    overrides = {"fit": {"epochs": 2, "batch_size": 100}, "threads": {"train": args.threads_train}}
    (args.workdir / "thread_use.yaml").write_text(json.dumps(overrides))
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(args.workdir), "--cores", str(args.cores), "--configfile",
        str(REPO / "config.yaml"), str(REPO / "config" / "sample.yaml"), str(args.workdir / "thread_use.yaml"),
    ]  # fmt: skip
    runner = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    jobs = {}  # pid -> script, samples of busy threads, most threads, first and last CPU time and time
    while runner.poll() is None:
        now = time.perf_counter()
        for pid in children(runner.pid):
            seen = sample(pid)
            if seen is None:
                continue
            script, threads, busy, cpu = seen
            job = jobs.setdefault(pid, {"script": script, "busy": [], "threads": 0, "start": now})
            job["busy"].append(busy)
            job["threads"] = max(job["threads"], threads)
            job["cpu"], job["end"] = cpu, now
        time.sleep(0.01)
    if runner.returncode != 0:
        sys.exit(f"snakemake failed: see {args.workdir}")
    print(f"threads.train {args.threads_train}, --cores {args.cores}, {os.cpu_count()} CPUs\n")
    print("| job | threads | busy threads: most | 99th percentile | median | CPU s / wall s |")
    print("|---|---:|---:|---:|---:|---:|")
    for job in sorted(jobs.values(), key=lambda job: job["start"]):
        wall = job["end"] - job["start"]
        load = job["cpu"] / wall if wall > 0.5 else float("nan")
        busy = sorted(job["busy"])
        p99 = busy[int(0.99 * (len(busy) - 1))]
        print(
            f"| {job['script']} | {job['threads']} | {busy[-1]} | {p99} | {statistics.median(busy):.0f} "
            f"| {load:.2f} |"
        )


if __name__ == "__main__":
    main()
