"""profiles/slurm on a real one-node SLURM cluster that the tests start (tests/slurm_cluster.py):
each job's CPUs, memory and time limit, a failing job, a retry after a time limit, and a
train job that asks for a GPU (config gpu).

Skipped where SLURM is not installed, except in CI (CI=true), where that is a failure:
`.ci/run` installs it.
"""

import gzip
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
import yaml
from slurm_cluster import SlurmCluster, why_not_here
from test_interruptions import saved_epoch
from workflow_runner import KEEP_INCOMPLETE, REPO, files_below, planned_jobs, planned_resources, run_snakemake
from zenodo_server import FakeZenodo

from mnist_cnn import ZENODO_FILES

SAMPLE = REPO / "resources" / "mnist_sample"
# minutes of waiting on SLURM and the plugin's status checks (tests/conftest.py starts them first)
pytestmark = pytest.mark.slow


def slurm_jobs() -> dict[str, tuple[str, str]]:
    """Every job of the run but the download, which is a local rule: its log's name -> (its rule,
    its folder of the plugin's logs, which adds the wildcards' values: check_data/train)."""
    return {
        job: (rule, "/".join(filter(None, [rule, "_".join(wildcards.values())])))
        for job, (rule, wildcards) in planned_jobs({}, wildcards=True).items()
        if rule != "download"
    }


# Long enough for the whole sample run on 2 busy cores; the run is killed after that.
TIMEOUT = 600
# The node declares more CPUs than a test machine has, so that the profile's 16 training threads
# are what SLURM gives, rather than as many as the machine has.
NODE_CPUS = 16


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = why_not_here()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the SLURM tests must run in CI, but {reason}")
        pytest.skip(reason)
    with SlurmCluster(tmp_path_factory.mktemp("slurm"), cpus=NODE_CPUS) as running:
        yield running


def run_on_slurm(
    cluster: SlurmCluster, workdir: Path, config: dict, *targets: str, timeout: int = TIMEOUT
) -> subprocess.CompletedProcess:
    """README's cluster command, with config/sample.yaml and ``config`` on top; ``targets`` may
    hold more options after the targets."""
    workdir.mkdir(parents=True, exist_ok=True)
    overrides = workdir / "test_config.yaml"
    overrides.write_text(yaml.safe_dump(config))
    command = [
        "timeout", "-s", "KILL", str(timeout),
        sys.executable, "-m", "snakemake",
        "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(workdir),
        "--workflow-profile", str(REPO / "profiles" / "slurm"),
        "--configfile", str(REPO / "config.yaml"), str(REPO / "config" / "sample.yaml"), str(overrides),
        # no accounting database here: sacct knows no job, squeue does for MinJobAge seconds
        "--slurm-status-command", "squeue",
        "--slurm-init-seconds-before-status-checks", "1",
        "--slurm-keep-successful-logs",
        *targets,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    result.output = result.stdout + result.stderr
    assert result.returncode != 137, f"killed after {timeout} s:\n{result.output}"
    return result


def slurm_logs(workdir: Path) -> dict[str, list[Path]]:
    """The plugin's log of each SLURM job (named <job id>.log), by job name."""
    logdir = workdir / ".snakemake" / "slurm_logs"
    return {
        name: sorted((logdir / f"rule_{folder}").glob("*.log"), key=lambda log: int(log.stem))
        for name, (_, folder) in slurm_jobs().items()
    }


@pytest.fixture(scope="module")
def sample_run(cluster, tmp_path_factory):
    """The whole workflow on the sample, downloaded from a fake Zenodo, through profiles/slurm."""
    planned = planned_resources(tmp_path_factory.mktemp("plan"), {"data": {"dir": str(SAMPLE)}})
    most = max(resources["mem_mb"] for resources in planned.values())
    assert cluster.memory_mb >= most, f"the rules ask for up to {most} MB, the node has {cluster.memory_mb}"
    served = tmp_path_factory.mktemp("sample_tsv")
    for name in ZENODO_FILES:
        (served / name).write_bytes(gzip.decompress((SAMPLE / f"{name}.gz").read_bytes()))
    workdir = tmp_path_factory.mktemp("slurm_run")
    with FakeZenodo({name: served / name for name in ZENODO_FILES}) as zenodo:
        config = {"data": {"dir": ""}, "zenodo": {"url": zenodo.url, "backoff": 0.01}, "fit": {"epochs": 2}}
        result = run_on_slurm(cluster, workdir, config)
    assert result.returncode == 0, result.output
    return workdir, result


def test_every_rule_but_the_download_ran_as_a_slurm_job(cluster, sample_run):
    workdir, _ = sample_run
    finished = cluster.finished_jobs()
    job_ids = {}
    for name, logs in slurm_logs(workdir).items():
        assert len(logs) == 1, f"{name}: {logs}"
        job_id = logs[0].stem
        assert job_id in finished, f"{name}: SLURM job {job_id} is not in the job completion log"
        job = finished[job_id]
        assert (job["JobState"], job["NodeList"]) == ("COMPLETED", "localhost"), name
        assert f"rule {slurm_jobs()[name][0]}:" in logs[0].read_text(), name
        job_ids[name] = job_id
    assert len(set(job_ids.values())) == len(slurm_jobs())
    # the download ran here, not on the cluster
    assert not (workdir / ".snakemake" / "slurm_logs" / "rule_download").exists()
    assert "X_train.tsv" in (workdir / "logs" / "download.log").read_text()


def test_jobs_get_the_rules_memory_and_runtime_and_the_profiles_threads(cluster, sample_run, tmp_path):
    workdir, _ = sample_run
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    assert config["threads"]["train"] < profile["set-threads"]["train"] <= cluster.cpus
    planned = planned_resources(tmp_path, {"data": {"dir": str(SAMPLE)}, "fit": {"epochs": 2}})
    finished = cluster.finished_jobs()
    for name, logs in slurm_logs(workdir).items():
        rule = slurm_jobs()[name][0]
        threads = profile["set-threads"].get(rule) or config["threads"].get(rule, 1)
        job = finished[logs[0].stem]
        assert job["ProcCnt"] == str(threads), (name, job)
        assert job["Tres"].startswith(f"cpu={threads},mem={planned[rule]['mem_mb']}M,node=1"), (name, job)
        assert job["TimeLimit"] == str(planned[rule]["runtime"]), (name, job)
    # Inside the job, Snakemake (`--cores all`) caps the threads at the CPUs it sees: on a real
    # node, the 16 that SLURM gave; on a test machine with fewer, those.
    threads = min(profile["set-threads"]["train"], len(os.sched_getaffinity(0)))
    train_log = (workdir / "logs" / "train.log").read_text()
    assert f"TensorFlow threads: {threads} intra-op" in train_log
    if threads != config["threads"]["train"]:
        assert f"{threads} threads instead of threads.train's 8" in train_log


def test_the_cluster_run_trains_and_evaluates(sample_run):
    workdir, _ = sample_run
    history = pd.read_csv(workdir / "results" / "model" / "history.tsv", sep="\t")
    assert history["epoch"].tolist() == [1, 2]
    report = pd.read_csv(workdir / "results" / "classification_report.tsv", sep="\t", index_col=0)
    assert report.loc["weighted avg", "support"] == 1000
    assert report.loc["accuracy", "f1-score"] > 0.5  # chance is 0.1


def test_a_failing_job_fails_the_run(cluster, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name in ZENODO_FILES:
        (data / f"{name}.gz").write_bytes((SAMPLE / f"{name}.gz").read_bytes())
    lines = gzip.decompress((SAMPLE / "X_train.tsv.gz").read_bytes()).decode().splitlines(keepends=True)
    cells = lines[1].split("\t")
    cells[399] = "999"
    lines[1] = "\t".join(cells)
    (data / "X_train.tsv.gz").write_bytes(gzip.compress("".join(lines).encode()))

    # only the data check, to keep it short
    result = run_on_slurm(
        cluster, tmp_path / "run", {"data": {"dir": str(data)}}, "results/data/train.npz", KEEP_INCOMPLETE
    )
    assert result.returncode == 1, result.output
    message = "X_train.tsv.gz, line 2, column 400: expected a pixel value 0..255, found 999"
    assert message in (tmp_path / "run" / "logs" / "check_data_train.log").read_text()
    assert message in result.output
    # profiles/slurm tries a failed job three times, with twice the time and memory each time
    finished = cluster.finished_jobs()
    attempts = [finished[log.stem] for log in slurm_logs(tmp_path / "run")["check_data_train"]]
    assert [job["JobState"] for job in attempts] == ["FAILED"] * 3
    first = planned_resources(tmp_path / "plan", {"data": {"dir": str(data)}})["check_data"]
    for attempt, job in enumerate(attempts):
        assert job["TimeLimit"] == str(first["runtime"] * 2**attempt), job
        assert f"mem={first['mem_mb'] * 2**attempt}M," in job["Tres"], job
    assert "Error in rule check_data" in result.output
    assert files_below(tmp_path / "run" / "results") == []


def stop_train_once_it_has_saved_an_epoch(
    workdir: Path, stopped: list[int], run_ended: threading.Event
) -> None:
    """SIGSTOP the train job's Python process in ``workdir`` as soon as it has saved an epoch's
    state, and append its process id to ``stopped``: SLURM's clock runs on to the job's time limit
    while the job spends no CPU. (In a thread of its own; it gives up when ``run_ended`` is set.)"""
    while saved_epoch(workdir) < 1:
        if run_ended.wait(0.05):
            return
    for process in Path("/proc").glob("[0-9]*"):
        try:
            script = process.joinpath("cmdline").read_bytes().split(b"\0")[1].decode()
            in_workdir = process.joinpath("cwd").resolve() == workdir.resolve()
        except (OSError, IndexError):  # ended meanwhile, or no arguments
            continue
        if in_workdir and "/.snakemake/scripts/" in script and script.endswith(".train.py"):
            os.kill(int(process.name), signal.SIGSTOP)
            stopped.append(int(process.name))
            return


def test_a_train_job_past_its_time_limit_is_retried_with_more_time_and_resumes(cluster, tmp_path):
    # Its first attempt is stopped (SIGSTOP) once it has saved an epoch, and killed by SLURM at its
    # 1-minute limit (SLURM checks limits every 30 s, then gives KillWait's 5 s) without training
    # on for that minute; the second attempt goes on from the saved epoch.
    epochs = 10
    data = tmp_path / "data"
    data.mkdir()
    for name in ZENODO_FILES:
        (data / f"{name}.gz").write_bytes((SAMPLE / f"{name}.gz").read_bytes())
    config = {"data": {"dir": str(data)}, "fit": {"epochs": epochs, "batch_size": 100}}
    stopped, run_ended = [], threading.Event()
    stopper = threading.Thread(
        target=stop_train_once_it_has_saved_an_epoch, args=(tmp_path / "run", stopped, run_ended)
    )
    stopper.start()
    # The rule's first 60 minutes cannot run out in a test: 1 minute at the first attempt, 10 at the
    # second, as an expression of the attempt as the rules' own (workflow/rules/resources.smk: by_attempt).
    try:
        result = run_on_slurm(
            cluster, tmp_path / "run", config, "results/model/train_metrics.tsv",
            "--set-resources", "train:runtime=10**(attempt-1)", "--set-threads", "train=1", timeout=900,
        )  # fmt: skip
    finally:
        run_ended.set()
        stopper.join()
    assert result.returncode == 0, result.output
    assert len(stopped) == 1, "the first attempt's train process was not found to stop"
    finished = cluster.finished_jobs()
    attempts = [finished[log.stem] for log in slurm_logs(tmp_path / "run")["train"]]
    assert [(job["JobState"], job["TimeLimit"]) for job in attempts] == [
        ("TIMEOUT", "1"),
        ("COMPLETED", "10"),
    ]
    assert [job["ProcCnt"] for job in attempts] == ["1", "1"]
    # the second attempt's log: it went on from the epochs the first one saved
    log = (tmp_path / "run" / "logs" / "train.log").read_text()
    resumed = [line for line in log.splitlines() if "resuming at epoch" in line]
    assert len(resumed) == 1, log
    saved = int(resumed[0].split("resuming at epoch ")[1].split()[0]) - 1
    assert 1 <= saved < epochs
    assert sum(" INFO epoch " in line for line in log.splitlines()) == epochs - saved
    history = pd.read_csv(tmp_path / "run" / "results" / "model" / "history.tsv", sep="\t")
    assert history["epoch"].tolist() == list(range(1, epochs + 1))
    assert not (tmp_path / "run" / "results" / "model" / "train_state").exists()


def test_a_train_job_asks_slurm_for_the_gpus_of_config_gpu(cluster, tmp_path):
    """config gpu: 1 makes the train job ask sbatch for a GPU (--gpus=1). The test node has none, so
    SLURM refuses the job, and the plugin's error shows the sbatch call; a node with a GPU would run it.
    Without config gpu (0), no GPU is asked for: sample_run's jobs ran on this node."""
    workdir, config = tmp_path / "run", {"data": {"dir": str(SAMPLE)}}
    train_inputs = [
        "results/data/train.npz",
        "results/model/model_config.json",
        "results/model/model_builder.json",
    ]
    made = run_snakemake(workdir, config, *train_inputs, configfiles=(REPO / "config" / "sample.yaml",))
    assert made.returncode == 0, made.output  # here, so that train is the only job sent to SLURM
    result = run_on_slurm(
        cluster, workdir, {**config, "gpu": 1}, "results/model/train_metrics.tsv", timeout=120
    )
    assert result.returncode != 0
    calls = [line for line in result.output.splitlines() if line.strip().startswith("sbatch --")]
    assert calls and all(" --gpus=1" in call and "rule_train" in call for call in calls), result.output
    assert "Invalid generic resource (gres) specification" in result.output
