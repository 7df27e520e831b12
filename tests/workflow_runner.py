"""Run the real ``snakemake`` command on this repository's Snakefile in a test's folder."""

import functools
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


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


def dry_run_jobs(workdir: Path, config: dict, *args: str) -> list[dict]:
    """The jobs a dry run of ``run_snakemake`` plans: each one's ``rule``, ``job`` (the name of its
    log, logs/<job>.log: ``train``, ``check_data_train``, ``experiments/a/train``; None for rule
    all), ``wildcards`` and ``resources`` ({name: value as printed}). ``args``: more snakemake
    arguments."""
    result = run_snakemake(workdir, config, "--dry-run", *args)
    assert result.returncode == 0, result.output
    jobs = []
    for line in result.stdout.splitlines():
        if line.startswith(("rule ", "localrule ")) and line.endswith(":"):
            jobs.append(
                {"rule": line.split()[1].removesuffix(":"), "job": None, "wildcards": {}, "resources": {}}
            )
        elif jobs and line.strip().startswith("log: "):
            jobs[-1]["job"] = (
                line.split("log: ", 1)[1].split(",")[0].removeprefix("logs/").removesuffix(".log")
            )
        elif jobs and line.strip().startswith(("wildcards: ", "resources: ")):  # name=value, ...
            key, values = line.strip().split(": ", 1)
            jobs[-1][key] = dict(item.split("=", 1) for item in values.split(", "))
    return jobs


def planned_resources(workdir: Path, config: dict, *args: str) -> dict[str, dict[str, int]]:
    """Each rule's ``runtime`` and ``mem_mb``, as a dry run of ``run_snakemake`` plans its jobs.

    ``args``: more snakemake arguments, such as ``--attempt 2`` for what a first retry asks for.
    """
    planned = {}
    for job in dry_run_jobs(workdir, config, *args):
        if job["rule"] != "all":
            resources = {name: int(job["resources"][name]) for name in ("runtime", "mem_mb")}
            assert planned.setdefault(job["rule"], resources) == resources, (
                f"jobs of rule {job['rule']} differ: {resources}, {planned[job['rule']]}"
            )
    return planned


@functools.cache
def _planned(config_json: str) -> tuple[dict, ...]:
    with tempfile.TemporaryDirectory() as workdir:
        return tuple(
            job for job in dry_run_jobs(Path(workdir), json.loads(config_json)) if job["rule"] != "all"
        )


def planned_jobs(config: dict, wildcards: bool = False) -> dict[str, str]:
    """{job: rule} of every job that config.yaml with ``config`` on top makes, from a dry run (made
    once per process): the workflow itself says which jobs a run has, the tests keep no list of them.
    ``wildcards``: {job: (rule, {wildcard: value})} instead."""
    jobs = _planned(json.dumps(config, sort_keys=True))
    if wildcards:
        return {job["job"]: (job["rule"], job["wildcards"]) for job in jobs}
    return {job["job"]: job["rule"] for job in jobs}


def report_files(config: dict) -> list[str]:
    """The files that the report of config.yaml's run with ``config`` on top shows: the outputs
    that the rules of its jobs mark with report() (workflow/rules/*.smk), with the jobs' wildcards."""
    # tools/ is on the tests' path, not on that of the benchmarks that import this module
    from lock_envs import rule_blocks

    marked = {name: re.findall(r'report\(\s*"([^"]+)"', block) for name, (_, block) in rule_blocks().items()}
    jobs = planned_jobs(config, wildcards=True).values()
    return sorted({path.format(**wildcards) for rule, wildcards in jobs for path in marked[rule]})


# Two experiments, as a sweep runs them: the jobs below logs/experiments/a/ are those of each run.
TWO_EXPERIMENTS = {"experiments": {"a": {}, "b": {}}}


def job_names() -> list[str]:
    """The jobs of config.yaml's run (from the download to the report's figures), by their logs' names."""
    return list(planned_jobs({}))


def per_run_jobs() -> list[str]:
    """The jobs made once per run (per experiment, per replicate), by their logs' names in a single run."""
    prefix = "experiments/a/"
    return [job.removeprefix(prefix) for job in planned_jobs(TWO_EXPERIMENTS) if job.startswith(prefix)]


# What a checkout copy leaves out: what runs and the docs' build make, and what only a developer's
# checkout holds.
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", ".snakemake", "results", "logs", "site", "__pycache__", "*.tsv"
)


def checkout_copy(folder: Path) -> Path:
    """This repository's files as a clone has them, in ``folder``."""
    shutil.copytree(REPO, folder, ignore=NOT_COPIED)
    return folder


# Snakemake deletes a failed job's declared outputs itself: a test of what a failing script leaves
# behind runs with this, so that whatever the script wrote stays to be seen.
KEEP_INCOMPLETE = "--keep-incomplete"


def files_below(folder: Path) -> list[str]:
    """Every file below ``folder`` (its path relative to ``folder``), hidden ones too; [] if it is absent."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())
