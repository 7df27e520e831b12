"""How long the whole test suite takes: README.md's test command with ``--durations=0``.

Runs ``python -m pytest --durations=0`` in the repository (pyproject.toml's addopts: the xdist
workers and their order), after any ``pytest_args`` given, and keeps what it printed, every
test's time included, in benchmarks/results/suite_time.txt, and a summary in
benchmarks/results/suite_time.json: the wall time, the CPU time of the processes it waited for
(SLURM's jobs, which slurmd runs, are not among them), the machine's CPUs, the test count by
outcome, the 15 slowest tests and the time of each test marked slow (setup, call and teardown),
and, from tests/conftest.py's --cpu-log, the CPU seconds of each test module and the 15 tests that
took the most (a test's own process and the subprocesses it waited for: snakemake and its jobs).
Where the CPU goes: the machine's busy CPU seconds over the run (/proc/stat, all processes, SLURM's
jobs and Chromium too), and the CPU seconds of every Python process by its program (snakemake,
each rule script, pytest's workers, ...), which benchmarks/cpu_census/sitecustomize.py, put on
the suite's PYTHONPATH, records as each exits (benchmarks/results/suite_time_processes.jsonl).
docs/development.md's times come from these files.

    python benchmarks/suite_time.py [pytest_args ...]    # e.g. -n 3 for three workers
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))

from mnist_cnn.provenance import cpu_model  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
CENSUS = REPO / "benchmarks" / "cpu_census"  # its sitecustomize.py, put on the suite's PYTHONPATH
# "234.12s call     tests/test_slurm.py::test_x@test_slurm" (xdist adds "@<group>" to the id)
DURATION = re.compile(r"^(\d+\.\d+)s (setup|call|teardown)\s+(\S.*?)(?:@[\w.-]+)?$")
# "= 290 passed, 3 skipped in 701.52s (0:11:41) =" (with -ra, "short test summary info" precedes)
OUTCOMES = re.compile(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?|warnings?)")


def slow_tests() -> list[str]:
    """The ids of the tests marked slow."""
    listed = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "slow", "-n", "0", "-p", "no:cacheprovider"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [line for line in listed.splitlines() if "::" in line]


def cpu_summary(cpu_log: Path) -> tuple[dict[str, float], list[dict]]:
    """CPU seconds by test module, most first, and the 15 test phases that took the most."""
    phases = [json.loads(line) for line in cpu_log.read_text().splitlines()] if cpu_log.exists() else []
    modules = {}
    for phase in phases:
        module = phase["test"].split("::")[0]
        modules[module] = modules.get(module, 0.0) + phase["cpu_seconds"]
    by_module = {
        module: round(seconds, 1) for module, seconds in sorted(modules.items(), key=lambda m: -m[1])
    }
    most = sorted(phases, key=lambda phase: -phase["cpu_seconds"])[:15]
    return by_module, [{**phase, "test": phase["test"].split("@")[0]} for phase in most]


def busy_cpu_seconds() -> float:
    """CPU seconds the machine has spent on anything but idling and waiting for I/O since it started."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def census_environment(census: Path) -> dict[str, str]:
    """This process's environment, in which every Python process writes its CPU seconds to ``census``."""
    path = os.pathsep.join(filter(None, [str(CENSUS), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "CPU_CENSUS_LOG": str(census)}


def cpu_by_program(census: Path) -> dict[str, dict]:
    """CPU seconds and process count of each program in the census, most CPU first."""
    programs = {}
    for line in census.read_text().splitlines() if census.exists() else []:
        process = json.loads(line)
        entry = programs.setdefault(process["program"], {"cpu_seconds": 0.0, "processes": 0})
        entry["cpu_seconds"] += process["cpu_seconds"]
        entry["processes"] += 1
    ranked = sorted(programs.items(), key=lambda item: -item[1]["cpu_seconds"])
    return {name: {**entry, "cpu_seconds": round(entry["cpu_seconds"], 1)} for name, entry in ranked}


def summary(
    output: str, wall: float, cpu: float, command: list[str], returncode: int, slow: list[str], cpu_log: Path
) -> dict:
    durations = []
    for line in output.splitlines():
        found = DURATION.match(line.strip())
        if found:
            durations.append({"seconds": float(found[1]), "phase": found[2], "test": found[3]})
    durations.sort(key=lambda entry: -entry["seconds"])
    last = next(line for line in reversed(output.splitlines()) if re.search(r" in \d+\.\d+s", line))
    outcomes = {
        kind.rstrip("s") if kind.startswith("error") else kind: int(count)
        for count, kind in OUTCOMES.findall(last)
    }
    workers = re.search(r"created: (\d+)/\d+ workers", output)
    cpu_by_module, most_cpu = cpu_summary(cpu_log)
    return {
        "command": " ".join(command),
        "exit_status": returncode,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "wall_seconds": round(wall, 1),
        "wall_minutes": round(wall / 60, 1),
        "cpu_seconds_of_waited_processes": round(cpu, 1),
        "cpus": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model(),
        "workers": int(workers[1]) if workers else 1,
        "tests": outcomes,
        "tests_run": sum(outcomes.get(kind, 0) for kind in ("passed", "failed", "xfailed", "xpassed")),
        "slowest_15": durations[:15],
        "cpu_seconds_by_module": cpu_by_module,
        "most_cpu_15": most_cpu,
        "marked_slow_seconds": {
            test: round(sum(entry["seconds"] for entry in durations if entry["test"] == test), 1)
            for test in slow
        },
    }


def arguments(argv=None) -> tuple[argparse.Namespace, list[str]]:
    """This script's options, and every other argument, for pytest, in its order."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        usage="%(prog)s [-h] [--results RESULTS] [more arguments for pytest, such as -m 'not slow']",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for suite_time.txt and .json")
    return parser.parse_known_args(argv)


def main(argv=None):
    args, pytest_args = arguments(argv)
    args.results.mkdir(parents=True, exist_ok=True)
    cpu_log = args.results / "suite_time_cpu.jsonl"
    cpu_log.unlink(missing_ok=True)
    census = args.results / "suite_time_processes.jsonl"
    census.unlink(missing_ok=True)
    env = census_environment(census)
    command = [sys.executable, "-m", "pytest", "--durations=0", f"--cpu-log={cpu_log}", *pytest_args]
    slow = slow_tests()
    log = args.results / "suite_time.txt"  # written as the tests run
    before, busy_before = resource.getrusage(resource.RUSAGE_CHILDREN), busy_cpu_seconds()
    start = time.perf_counter()
    with open(log, "w") as output:
        returncode = subprocess.run(
            command, cwd=REPO, stdout=output, stderr=subprocess.STDOUT, env=env
        ).returncode
    wall = time.perf_counter() - start
    after, busy = resource.getrusage(resource.RUSAGE_CHILDREN), busy_cpu_seconds() - busy_before
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    output = log.read_text()
    shown = ["python", "-m", "pytest", "--durations=0", *pytest_args]
    result = summary(output, wall, cpu, shown, returncode, slow, cpu_log)
    result["cpu_seconds_of_the_machine"] = round(busy, 1)
    result["cpu_seconds_by_python_program"] = cpu_by_program(census)
    (args.results / "suite_time.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        json.dumps(
            {
                key: value
                for key, value in result.items()
                if key not in ("slowest_15", "most_cpu_15", "cpu_seconds_by_python_program")
            },
            indent=2,
        )
    )
    for entry in result["slowest_15"]:
        print(f"{entry['seconds']:8.1f} s  {entry['phase']:8} {entry['test']}")
    return returncode


if __name__ == "__main__":
    sys.exit(main())
