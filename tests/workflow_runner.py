"""Run the real ``snakemake`` command on this repository's Snakefile in a test's folder."""

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
# The name of each job's log (logs/<name>.log) and benchmark (benchmarks/<name>.tsv): the jobs
# on the shared data, made once, then those of each run (once per experiment, with experiments).
SHARED_JOBS = ["download", "check_data_train", "check_data_test", "data_sample"]
PER_RUN_JOBS = [
    "model_config",
    "model_builder",
    "train",
    "export_onnx",
    "predict",
    "evaluate",
    "provenance",
    # the report's figures and tables
    "record_config",
    "inspect_model",
    "evaluation_figures",
]
JOB_NAMES = SHARED_JOBS + PER_RUN_JOBS
# With config key apply: images converted once, the model applied in each run (with experiments,
# their agreement).
APPLY_JOBS = ["convert_images", "apply_model", "applied_figure", "applied_agreement"]


def run_snakemake(
    workdir: Path,
    config: dict,
    *args: str,
    configfiles: tuple[Path, ...] = (),
    timeout: int = 900,
    env: dict | None = None,
) -> subprocess.CompletedProcess:
    """``snakemake --cores 2`` with config.yaml, then ``configfiles``, then ``config``; never raises.
    ``env``: its environment (default: this process's)."""
    workdir.mkdir(parents=True, exist_ok=True)
    overrides = workdir / "test_config.yaml"
    overrides.write_text(yaml.safe_dump(config))
    command = [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(workdir),
        "--cores", "2",
        *args,  # before --configfile, which takes every word after it
        "--configfile", str(REPO / "config.yaml"), *map(str, configfiles), str(overrides),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    result.output = result.stdout + result.stderr
    return result


def planned_resources(workdir: Path, config: dict, *args: str) -> dict[str, dict[str, int]]:
    """Each rule's ``runtime`` and ``mem_mb``, as a dry run of ``run_snakemake`` plans its jobs.

    ``args``: more snakemake arguments, such as ``--attempt 2`` for what a first retry asks for.
    """
    result = run_snakemake(workdir, config, "--dry-run", *args)
    assert result.returncode == 0, result.output
    planned, rule = {}, None
    for line in result.stdout.splitlines():
        if line.startswith(("rule ", "localrule ")) and line.endswith(":"):
            rule = line.split()[1].removesuffix(":")
        elif line.strip().startswith("resources:") and rule != "all":
            values = dict(item.split("=", 1) for item in line.split(":", 1)[1].strip().split(", "))
            job = {name: int(values[name]) for name in ("runtime", "mem_mb")}
            assert planned.setdefault(rule, job) == job, f"jobs of rule {rule} differ: {job}, {planned[rule]}"
    return planned


# Snakemake deletes a failed job's declared outputs itself: a test of what a failing script leaves
# behind runs with this, so that whatever the script wrote stays to be seen.
KEEP_INCOMPLETE = "--keep-incomplete"


def files_below(folder: Path) -> list[str]:
    """Every file below ``folder`` (its path relative to ``folder``), hidden ones too; [] if it is absent."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())
