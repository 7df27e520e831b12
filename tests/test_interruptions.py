"""Interrupted runs: train resumes from its last saved epoch, after Snakemake itself was killed too,
and a train job that dies after fit is not trained again.

The real ``snakemake`` trains on the sample; the test kills the whole run (Snakemake and the train
job, SIGKILL) as soon as the first epoch's state is on disk, recovers as the README says
(``--unlock``, then the same command) and compares the result with an uninterrupted run. Other
runs fail as they write the model after fit (tests/failing_write makes the write fail), then run
again.
"""

import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from workflow_runner import REPO, planned_jobs, planned_resources, run_snakemake

SAMPLE = REPO / "resources" / "mnist_sample"
EPOCHS = 6
CONFIG = {"data": {"dir": str(SAMPLE)}, "fit": {"epochs": EPOCHS, "batch_size": 100}}
TARGET = "results/model/train_metrics.tsv"
STATE = Path("results/model/train_state")
# EarlyStopping with a min_delta of 10: no epoch improves on the first, so fit stops after epoch 2,
# and restore_best_weights gives back epoch 1's weights
EARLY_STOPPING = {
    **CONFIG,
    "fit": {
        **CONFIG["fit"],
        "callbacks": [
            {
                "type": "EarlyStopping",
                "args": {"monitor": "val_loss", "min_delta": 10, "patience": 1, "restore_best_weights": True},
            }
        ],
    },
}
FAILING_WRITE = Path(__file__).parent / "failing_write"


def weights(path: Path) -> list[np.ndarray]:
    with h5py.File(path) as weights_file:
        arrays = []
        weights_file.visititems(
            lambda name, item: arrays.append(item[()]) if isinstance(item, h5py.Dataset) else None
        )
        return arrays


def saved_epoch(workdir: Path) -> int:
    """The last epoch whose training state train has saved (0: none yet)."""
    metadata = workdir / STATE / "keras" / "training_metadata.json"
    try:
        return json.loads(metadata.read_text())["epoch"]
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


def snakemake_command(workdir: Path, config: dict = CONFIG) -> list[str]:
    """run_snakemake's command for TARGET with ``config``, for a process that the test handles itself."""
    (workdir / "test_config.yaml").write_text(json.dumps(config))
    return [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
        "--cores", "2", TARGET, "--configfile", str(REPO / "config.yaml"), str(workdir / "test_config.yaml"),
    ]  # fmt: skip


def kill_after_the_first_saved_epoch(workdir: Path, config: dict, epochs: int, env=None) -> int:
    """Start snakemake_command(workdir, config), SIGKILL it and its jobs as soon as train has saved
    an epoch's state, and return that epoch (asserted to be before the last of ``epochs``)."""
    # started in its own process group, so that one kill ends Snakemake and its jobs
    run = subprocess.Popen(
        snakemake_command(workdir, config),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    deadline = time.monotonic() + 600
    while saved_epoch(workdir) < 1:
        assert run.poll() is None, "the run ended before train saved an epoch"
        assert time.monotonic() < deadline, "train saved no epoch in 600 s"
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    killed_at = saved_epoch(workdir)
    assert killed_at < epochs, "train finished before the kill: more epochs are needed"
    return killed_at


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """A run in a terminal (a pseudo-terminal here), and all that it wrote there."""
    workdir = tmp_path_factory.mktemp("uninterrupted")
    controller, terminal = pty.openpty()
    run = subprocess.Popen(
        snakemake_command(workdir), stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal
    )
    os.close(terminal)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the run ended and closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert run.wait(timeout=600) == 0, shown.decode(errors="replace")
    return workdir, shown.decode(errors="replace")


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """A run killed with Snakemake after train saved an epoch; what each step of the recovery said."""
    workdir = tmp_path_factory.mktemp("interrupted")
    killed_at = kill_after_the_first_saved_epoch(workdir, CONFIG, EPOCHS)
    locked = run_snakemake(workdir, CONFIG, TARGET)
    unlocked = run_snakemake(workdir, CONFIG, "--unlock")
    resumed = run_snakemake(workdir, CONFIG, TARGET)
    return workdir, killed_at, locked, unlocked, resumed


def test_snakemake_killed_needs_unlock_then_the_same_command(interrupted):
    workdir, _, locked, unlocked, resumed = interrupted
    assert locked.returncode != 0
    assert "LockException" in locked.output, locked.output
    assert unlocked.returncode == 0, unlocked.output
    assert resumed.returncode == 0, resumed.output


def test_train_resumes_from_the_saved_epoch(interrupted):
    workdir, killed_at, *_, resumed = interrupted
    log = (workdir / "logs" / "train.log").read_text()
    assert (
        f"resuming at epoch {killed_at + 1} of {EPOCHS}: epochs 1 to {killed_at} restored from the saved state"
        in log
    )
    ran = [line for line in log.splitlines() if " INFO epoch " in line]
    assert [line.split(" INFO epoch ")[1].split(":")[0] for line in ran] == [
        f"{epoch}/{EPOCHS}" for epoch in range(killed_at + 1, EPOCHS + 1)
    ]
    # the state is gone once the results are written
    assert not (workdir / STATE).exists()


def test_each_epoch_is_logged_as_it_ends_and_a_progress_bar_shown_only_in_a_terminal(uninterrupted):
    workdir, shown = uninterrupted
    log = (workdir / "logs" / "train.log").read_text()
    epochs = re.findall(
        r"INFO epoch (\d+)/(\d+): accuracy 0\.\d{4}, loss \d+\.\d{4}, val_accuracy 0\.\d{4}, "
        r"val_loss \d+\.\d{4}; \d+\.\d s, \d+ images/s, \d+\.\d s of CPU\n",
        log,
    )
    assert epochs == [(str(epoch), str(EPOCHS)) for epoch in range(1, EPOCHS + 1)], log
    history = pd.read_csv(workdir / "results/model/history.tsv", sep="\t")
    last = log[log.index(f"epoch {EPOCHS}/{EPOCHS}:") :].splitlines()[0]
    assert f"val_accuracy {history['val_accuracy'].iloc[-1]:.4f}" in last
    # tqdm's bar, in the terminal only
    assert re.search(rf"epoch {EPOCHS}/{EPOCHS}: +\d+%\|", shown), shown
    assert "\r" not in log and "batch/s" not in log
    assert "batch/s" not in (workdir / "logs" / "model_config.log").read_text()


def test_resumed_training_gives_the_uninterrupted_results(interrupted, uninterrupted):
    workdir, uninterrupted = interrupted[0], uninterrupted[0]
    for mine, theirs in zip(
        weights(workdir / "results/model/weights.h5"),
        weights(uninterrupted / "results/model/weights.h5"),
        strict=True,
    ):
        np.testing.assert_array_equal(mine, theirs)
    for name in ("history.tsv", "train_metrics.tsv"):
        resumed = pd.read_csv(workdir / "results/model" / name, sep="\t")
        pd.testing.assert_frame_equal(resumed, pd.read_csv(uninterrupted / "results/model" / name, sep="\t"))
    assert pd.read_csv(workdir / "results/model/history.tsv", sep="\t")["epoch"].tolist() == list(
        range(1, EPOCHS + 1)
    )


def run_train(workdir: Path, config: dict, failing_write: str | None = None) -> subprocess.CompletedProcess:
    """``snakemake_command``'s run; with ``failing_write``, writing a file whose path ends so fails."""
    env = dict(os.environ)
    if failing_write:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(FAILING_WRITE), env.get("PYTHONPATH")]))
        env["FAIL_WRITING"] = failing_write
    return subprocess.run(
        snakemake_command(workdir, config), env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def stopped_early(tmp_path_factory):
    """An uninterrupted run that EarlyStopping stops after epoch 2."""
    workdir = tmp_path_factory.mktemp("stopped_early")
    run = run_train(workdir, EARLY_STOPPING)
    assert run.returncode == 0, run.stdout + run.stderr
    assert pd.read_csv(workdir / "results/model/history.tsv", sep="\t")["epoch"].tolist() == [1, 2]
    return workdir


@pytest.mark.parametrize("early_stopping", [False, True], ids=["all-epochs", "early-stopping"])
def test_a_train_job_that_dies_after_fit_is_not_trained_again(request, tmp_path, early_stopping):
    """The job fails as it saves model.keras, as it would on a full disk or at a SLURM time limit
    (the ONNX export, when train makes it, comes later still); the same command then writes the
    outputs of an uninterrupted run without training."""
    config, epochs, reference = (
        (EARLY_STOPPING, 2, request.getfixturevalue("stopped_early"))
        if early_stopping
        else (CONFIG, EPOCHS, request.getfixturevalue("uninterrupted")[0])
    )
    failed = run_train(tmp_path, config, failing_write="results/model/model.keras")
    assert failed.returncode != 0
    log = (tmp_path / "logs" / "train.log").read_text()
    assert "No space left on device (the test's failing write): 'results/model/model.keras'" in log, log
    assert log.count(" INFO epoch ") == epochs
    rerun = run_train(tmp_path, config)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    log = (tmp_path / "logs" / "train.log").read_text()
    assert " INFO epoch " not in log, log
    assert f"fit had ended ({epochs} epochs) before the job was cut short" in log, log
    for name in ("weights.h5", "history.tsv", "train_metrics.tsv"):
        written = (tmp_path / "results" / "model" / name).read_bytes()
        assert written == (reference / "results" / "model" / name).read_bytes(), name
    assert not (tmp_path / STATE).exists()


def test_each_rule_sets_its_resources_and_a_retry_gets_twice_as_much(tmp_path):
    first = planned_resources(tmp_path / "first", {})  # config.yaml: the download too
    retry = planned_resources(tmp_path / "retry", {}, "--attempt", "2")
    rules = set(planned_jobs({}).values())
    assert set(first) == rules, first
    for rule in rules - {"download"}:  # download runs on the login node and retries by itself
        assert retry[rule] == {name: 2 * value for name, value in first[rule].items()}, rule
    assert retry["download"] == first["download"]
    # the rules are the one place that says them: the cluster profile sets neither
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    assert profile["retries"] == 2
    assert not {"runtime", "mem_mb"} & set(profile.get("default-resources") or {})
    for rule, resources in (profile.get("set-resources") or {}).items():
        assert not {"runtime", "mem_mb"} & set(resources or {}), rule
