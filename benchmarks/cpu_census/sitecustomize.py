"""benchmarks/suite_time.py's census of the suite's Python processes: put on PYTHONPATH, it makes
every Python process that starts append, as it exits, a line to the file CPU_CENSUS_LOG names:
its program (``snakemake``, ``pytest``, the rule script a job runs, ...) and its own CPU seconds.

A process that is killed, or that runs with another PYTHONPATH, writes none.
"""

import atexit
import json
import os
import sys


def program(argv: list[str]) -> str:
    """What a process runs, from its sys.argv: a Snakemake job's script (Snakemake runs a copy
    named .snakemake/scripts/tmp<random>.<script>), or a module run with -m, or a script's name."""
    first = argv[0] if argv else ""
    if "/.snakemake/scripts/" in first:
        return "rule script " + os.path.basename(first).split(".", 1)[1]
    if first == "-c":
        return "python -c (pytest-xdist workers, pip's helpers)"
    name = os.path.basename(first)
    if name == "__main__.py":  # python -m <package>: its folder's name
        return os.path.basename(os.path.dirname(first))
    return name or "python"


def write_cpu_seconds(path: str) -> None:
    times = os.times()
    line = {"program": program(sys.argv), "cpu_seconds": round(times.user + times.system, 2)}
    with open(path, "a") as log:
        log.write(json.dumps(line) + "\n")


if os.environ.get("CPU_CENSUS_LOG"):
    atexit.register(write_cpu_seconds, os.environ["CPU_CENSUS_LOG"])
