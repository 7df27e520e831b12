"""`--sdm conda` as its users run it: Snakemake alone in the driver's environment, every rule in
the environment its `conda:` line names, built by Snakemake's own conda deployment from envs/*.yaml.

Conda's channels cannot be reached here, so tests/conda_standin/bin/conda stands in for conda: it
makes each environment a virtual environment holding the env file's `pip:` packages and nothing
else (Python 3.11 standing in for its `python=` line). What this tests: the pip part of every
environment, deployed and activated by Snakemake. What it cannot: conda-forge's own Python and pip,
which only the conda-demo job of .github/workflows/ci.yml runs.
"""

import os
import subprocess
import sys
from pathlib import Path

import lock_envs
import pytest
import yaml
from workflow_runner import checkout_copy

from mnist_cnn import ZENODO_FILES, md5sum

REPO = Path(__file__).resolve().parents[1]
STANDIN = REPO / "tests" / "conda_standin"
UV = str(Path(sys.executable).parent / "uv")
# Each shipped configuration, as README.md runs it from the repository root.
SHIPPED = {
    "default": [],
    "sample": ["--configfile", "config/sample.yaml"],
    "experiments": ["--configfile", "config/experiments.yaml"],
    "replicates": ["--configfile", "config/seeds.yaml"],
    "apply": ["--configfile", "config/sample.yaml", "config/my_digits.yaml"],
    "fast": ["--configfile", "config/fast.yaml"],
    "galaxy_workflow": ["--configfile", "config/galaxy_workflow.yaml"],
    "slurm_profile": ["--workflow-profile", "profiles/slurm", "--configfile", "config/sample.yaml"],
}


@pytest.fixture(scope="session")
def snakemake_only(tmp_path_factory) -> Path:
    """A virtual environment with nothing but Snakemake (with its report extra) and the SLURM
    executor plugin, at requirements.txt's versions: what `--sdm conda` users install."""
    venv = tmp_path_factory.mktemp("snakemake_only") / "venv"
    subprocess.run([UV, "venv", "--quiet", "--python", sys._base_executable, str(venv)], check=True)
    packages = ["snakemake[reports]", "snakemake-executor-plugin-slurm"]
    subprocess.run(
        [UV, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(venv / "bin" / "python"),
         "--constraint", str(REPO / "requirements.txt"), *packages],
        check=True,
    )  # fmt: skip
    return venv


@pytest.fixture(scope="session")
def conda_prefix(tmp_path_factory) -> Path:
    """Where Snakemake keeps the environments: one folder for the whole test session, so that each
    environment is built once."""
    return tmp_path_factory.mktemp("conda_envs")


def driver(venv: Path) -> dict[str, str]:
    """The environment of a `snakemake` command run from ``venv``, with the conda stand-in on PATH
    and none of this test's own environment."""
    ours = str(Path(sys.executable).parent)
    path = [
        str(STANDIN / "bin"),
        str(venv / "bin"),
        *(p for p in os.environ["PATH"].split(os.pathsep) if p != ours),
    ]
    env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return {**env, "PATH": os.pathsep.join(path), "CONDA_STANDIN_UV": UV}


def snakemake(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["snakemake", *args], cwd=cwd, env=driver(venv), capture_output=True, text=True, timeout=1200
    )
    result.output = result.stdout + result.stderr
    return result


def environments_of_jobs(workdir: Path) -> dict[str, set[str]]:
    """rule -> the prefixes of the environments its jobs ran in, from each job's log."""
    found = {}
    for log in (workdir / "logs").rglob("*.log"):
        line = next(line for line in log.read_text().splitlines() if " INFO rule " in line)
        rule, prefix = line.split(" INFO rule ", 1)[1].split(": Python ")[0], line.rsplit(" in ", 1)[1]
        found.setdefault(rule, set()).add(prefix)
    return found


def assert_each_job_ran_in_its_rules_environment(workdir: Path, conda_prefix: Path) -> set[str]:
    """Every job's Python was the one of the environment that Snakemake built from its rule's env
    file (Snakemake keeps a copy of that file beside each environment). Returns the env files used."""
    declared = lock_envs.rule_environments()
    used = set()
    for rule, prefixes in environments_of_jobs(workdir).items():
        env_file = declared[rule][1]
        for prefix in prefixes:
            assert Path(prefix).parent == conda_prefix, (
                f"rule {rule} ran in {prefix}, not in a built environment"
            )
            assert Path(f"{prefix}.yaml").read_text() == env_file.read_text(), (
                f"rule {rule} ran in the environment of another env file than its own {env_file.name}"
            )
        used.add(env_file.name)
    return used


@pytest.mark.parametrize("configuration", SHIPPED)
def test_the_snakefile_needs_only_snakemake(snakemake_only, configuration):
    result = snakemake(snakemake_only, REPO, "--dry-run", *SHIPPED[configuration])
    assert result.returncode == 0, result.output
    assert "This was a dry-run" in result.output


def test_every_shipped_configuration_is_dry_run():
    named = {arg for args in SHIPPED.values() for arg in args if arg.startswith("config/")}
    assert named == {str(path.relative_to(REPO)) for path in (REPO / "config").glob("*.yaml")}


@pytest.fixture(scope="session")
def conda_sample_run(snakemake_only, conda_prefix, tmp_path_factory) -> Path:
    """README's offline run with your own digits, each rule in its environment, then its report."""
    workdir = checkout_copy(tmp_path_factory.mktemp("conda_sample") / "mnist-cnn")
    configs = ["--configfile", "config/sample.yaml", "config/my_digits.yaml"]
    common = ["--cores", "2", "--sdm", "conda", "--conda-prefix", str(conda_prefix)]
    run = snakemake(snakemake_only, workdir, *common, *configs)
    assert run.returncode == 0, run.output
    report = snakemake(snakemake_only, workdir, *common, "--report", "report.html", *configs)
    assert report.returncode == 0, report.output
    return workdir


def test_the_sample_workflow_runs_each_job_in_its_rules_environment(conda_sample_run, conda_prefix):
    used = assert_each_job_ran_in_its_rules_environment(conda_sample_run, conda_prefix)
    # the sample is read from resources/ (no download) and there is a single run (no compare)
    assert used == {"data.yaml", "keras.yaml", "evaluate.yaml", "images.yaml"}
    assert (conda_sample_run / "results" / "confusion_matrix.png").stat().st_size > 0
    assert (conda_sample_run / "results" / "applied" / "digits.png").stat().st_size > 0
    assert "confusion_matrix" in (conda_sample_run / "report.html").read_text()


def test_replicates_run_each_job_in_its_rules_environment(snakemake_only, conda_prefix, tmp_path):
    """Two replicates of the tutorial's CNN, one epoch each, and their comparison: the train jobs
    of both share one environment, and compare runs in its own."""
    workdir = checkout_copy(tmp_path / "mnist-cnn")
    (workdir / "replicates.yaml").write_text(yaml.safe_dump({"fit": {"epochs": 1}, "replicates": 2}))
    result = snakemake(
        snakemake_only, workdir, "--cores", "2", "--sdm", "conda", "--conda-prefix", str(conda_prefix),
        "results/replicates/comparison.tsv", "--configfile", "config/sample.yaml", "replicates.yaml",
    )  # fmt: skip
    assert result.returncode == 0, result.output
    used = assert_each_job_ran_in_its_rules_environment(workdir, conda_prefix)
    assert used == {"data.yaml", "keras.yaml", "evaluate.yaml", "compare.yaml"}
    assert len(environments_of_jobs(workdir)["train"]) == 1  # two train jobs, one environment


@pytest.mark.parametrize("left_out", [None, "pooch"])
def test_a_package_left_out_of_an_env_file_fails_its_rule(
    snakemake_only, conda_prefix, zenodo, tmp_path, left_out
):
    """The download's environment as shipped downloads; without pooch, its rule fails on the import."""
    workdir = checkout_copy(tmp_path / "mnist-cnn")
    env_file = workdir / "envs" / "download.yaml"
    lines = env_file.read_text().splitlines(keepends=True)
    env_file.write_text("".join(line for line in lines if not (left_out and f"- {left_out}==" in line)))
    (workdir / "zenodo.yaml").write_text(yaml.safe_dump({"zenodo": {"url": zenodo.url}}))
    result = snakemake(
        snakemake_only, workdir, "--cores", "1", "--sdm", "conda", "--conda-prefix", str(conda_prefix),
        "results/data/X_train.tsv", "--configfile", "zenodo.yaml",
    )  # fmt: skip
    log = (workdir / "logs" / "download.log").read_text()
    if left_out is None:
        assert result.returncode == 0, result.output
        assert assert_each_job_ran_in_its_rules_environment(workdir, conda_prefix) == {"download.yaml"}
        for name in ZENODO_FILES:
            assert md5sum(workdir / "results" / "data" / name) == zenodo.md5(name)
    else:
        assert result.returncode != 0
        assert f"ModuleNotFoundError: No module named '{left_out}'" in log, log
