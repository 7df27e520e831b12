"""Provenance of a run: the software and machine it ran on, its data files' checksums, its config.

workflow/rules/config.smk imports this module too: it needs nothing beyond what Snakemake itself installs.
"""

import importlib.metadata
import json
import os
import platform
import subprocess
from pathlib import Path

import yaml

from mnist_cnn import md5sum

# What the rules compute with; rule provenance runs in envs/keras.yaml, which holds them all.
DISTRIBUTIONS = (
    "tensorflow",
    "keras",
    "jax",
    "jaxlib",
    "numpy",
    "pandas",
    "scikit-learn",
    "h5py",
    "tf2onnx",
    "onnxruntime",
)
# Settings that change how a run goes but not what it computes: no rule reruns when they change,
# so the record leaves them out too (the threads and the GPU train used are in its own record,
# under train).
RUN_ONLY_SETTINGS = {"zenodo": ("retries", "backoff", "timeout"), "threads": None, "gpu": None}


def recorded_config(config: dict) -> dict:
    """The config without RUN_ONLY_SETTINGS, as plain dicts and lists."""
    kept = json.loads(json.dumps(config))
    for section, keys in RUN_ONLY_SETTINGS.items():
        if keys is None:
            kept.pop(section, None)
        else:
            for key in keys:
                kept.get(section, {}).pop(key, None)
    return kept


def git_version(folder) -> str | None:
    """``git describe --always --dirty`` of the checkout in ``folder``; None outside git or without git."""
    try:
        described = subprocess.run(
            ["git", "-C", str(folder), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    return described.stdout.strip() if described.returncode == 0 else None


def distribution_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    """The CPU's name from Linux's /proc/cpuinfo, else as much as the platform module knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def cpus_available() -> int:
    """The CPUs this process may use (a cluster job may get fewer than the machine has)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def collect(
    data_files,
    config: dict,
    snakemake_version: str,
    workflow_version: str | None,
    train_machine: dict | None = None,
) -> dict:
    """Everything that decides a run's results and can be read off the machine.

    ``machine`` is the one this runs on; ``train_machine`` what train computed on (its own
    record, train_machine.yaml), which on a cluster is another node.
    No time stamp on purpose: two runs of the same workflow on the same machine write the same
    record (the reproducibility check compares it); when a run happened is the file's own time.
    """
    return {
        "workflow": {"version": workflow_version, "snakemake": snakemake_version},
        "software": {
            "python": f"{platform.python_version()} ({platform.python_implementation()})",
            **{name: distribution_version(name) for name in DISTRIBUTIONS},
        },
        "machine": {"platform": platform.platform(), "cpu": cpu_model(), "cpus_available": cpus_available()},
        "train": train_machine,
        "data": {
            Path(path).name: {"path": str(path), "md5": md5sum(path), "bytes": os.path.getsize(path)}
            for path in data_files
        },
        "config": config,
    }


class _Dumper(yaml.SafeDumper):
    """Block style, except lists of plain values, which stay on one line as in config.yaml."""

    def represent_list(self, data):
        flat = not any(isinstance(item, dict | list) for item in data)
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(list, _Dumper.represent_list)


def write_provenance(
    record: dict, path, title: str = "Provenance of the results beside this file (rule provenance, README.md)"
) -> None:
    with open(path, "w") as out:
        out.write(f"# {title}\n")
        yaml.dump(record, out, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)
