"""What a slurm.conf whose controller does not answer costs every ``snakemake`` command, and what
avoids it.

The SLURM executor plugin (requirements.txt) is imported by every ``snakemake`` command, even
``snakemake --version``; where SLURM's tools are installed (``sinfo`` on PATH) it runs
``scontrol show config`` as it is imported, with a 10 s timeout. Times ``snakemake --version``
(wall seconds, the median of ``--repeat``) with:

- ``no SLURM tools``: a PATH without SLURM's commands (the venv's, and which, sh and bash), as on
  a machine without them;
- ``unreachable controller``: SLURM_CONF naming a slurm.conf whose controller is not running;
- ``SLURM_CONF=/dev/null``: the remedy the README gives (an empty configuration: scontrol stops at once);
- ``SLURM_CONF=missing file``: no remedy (scontrol retries for 60 s, the plugin waits its 10).

Writes benchmarks/results/slurm_conf_delay.json (or ``--output``) and prints it.

    python benchmarks/slurm_conf_delay.py [--repeat 3]
"""

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# A controller on a port of 127.0.0.1 where nothing listens.
UNREACHABLE_CONF = """ClusterName=nowhere
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={port}
AuthType=auth/munge
NodeName=localhost CPUs=1 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES State=UP
"""


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seconds(env: dict[str, str], repeat: int) -> float:
    """The median wall time of ``snakemake --version`` in ``env``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "snakemake", "--version"], env=env, capture_output=True, check=True
        )
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--output", type=Path, default=REPO / "benchmarks" / "results" / "slurm_conf_delay.json"
    )
    args = parser.parse_args(argv)
    if shutil.which("sinfo") is None or shutil.which("scontrol") is None:
        sys.exit("SLURM's tools are not installed (apt-get install slurm-client): nothing to measure")
    base = {key: value for key, value in os.environ.items() if key != "SLURM_CONF"}
    with tempfile.TemporaryDirectory() as folder:
        no_slurm = Path(folder) / "bin"
        no_slurm.mkdir()
        for command in ("which", "sh", "bash"):  # the plugin runs `which sacct`
            (no_slurm / command).symlink_to(shutil.which(command))
        unreachable = Path(folder) / "slurm.conf"
        unreachable.write_text(UNREACHABLE_CONF.format(port=closed_port()))
        cases = {
            "no SLURM tools": {**base, "PATH": f"{Path(sys.executable).parent}:{no_slurm}"},
            "unreachable controller": {**base, "SLURM_CONF": str(unreachable)},
            "SLURM_CONF=/dev/null": {**base, "SLURM_CONF": "/dev/null"},
            "SLURM_CONF=missing file": {**base, "SLURM_CONF": str(Path(folder) / "missing.conf")},
        }
        measured = {name: seconds(env, args.repeat) for name, env in cases.items()}
    result = {
        "command": "snakemake --version",
        "wall_seconds_median": measured,
        "repeat": args.repeat,
        "cpus": len(os.sched_getaffinity(0)),
        "machine": platform.processor() or platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
