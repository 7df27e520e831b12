"""Config ``backend: jax``: the sample workflow twice with the same bytes (benchmarks/gpu_jax.py,
as a GPU machine runs it), its report, the ONNX export of a model trained on JAX, and resume after
a kill, with TensorFlow made unimportable (tests/without_tensorflow) in every job but export_onnx,
which converts with tf2onnx on TensorFlow whatever the backend.

JAX on a CPU is far slower than TensorFlow for this model: one epoch of the tutorial's model in
the workflow, a four-filter CNN for resuming.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from test_interruptions import kill_after_the_first_saved_epoch, weights
from workflow_runner import REPO, per_run_jobs, run_snakemake

SAMPLE = REPO / "resources" / "mnist_sample"
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
WITHOUT_TENSORFLOW = Path(__file__).parent / "without_tensorflow"
# A CNN of four 3x3 filters: the tutorial's kinds of layers (a convolution, max pooling, a dense
# softmax), quick on JAX.
TINY_CNN = [
    {"type": "Reshape", "args": {"target_shape": [28, 28, 1]}},
    {"type": "Conv2D", "args": {"filters": 4, "kernel_size": [3, 3], "activation": "relu"}},
    {"type": "MaxPooling2D", "args": {"pool_size": [2, 2]}},
    {"type": "Flatten"},
    {"type": "Dense", "args": {"units": 10, "activation": "softmax"}},
]


@pytest.fixture(scope="module")
def without_tensorflow(tmp_path_factory) -> tuple[dict, Path]:
    """An environment for processes in which TensorFlow is unimportable, but in export_onnx's; and
    the file where each attempt to import it is recorded."""
    imports = tmp_path_factory.mktemp("tensorflow_imports") / "attempts.txt"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(WITHOUT_TENSORFLOW), os.environ.get("PYTHONPATH")])),
        "TENSORFLOW_IMPORTS": str(imports),
        "TENSORFLOW_ALLOWED": "export_onnx.py",
    }
    return env, imports


@pytest.fixture(scope="module")
def jax_run(without_tensorflow, tmp_path_factory):
    """benchmarks/gpu_jax.py on the sample, one epoch: the default workflow on JAX twice, compared
    byte for byte (onnx: false, as on a GPU machine without TensorFlow); then the report of the first."""
    workdir = tmp_path_factory.mktemp("gpu_jax")
    output = workdir / "gpu_jax.json"
    command = [sys.executable, str(REPO / "benchmarks" / "gpu_jax.py"), "run", "--data", str(SAMPLE),
               "--epochs", "1", "--replicates", "0", "--workdir", str(workdir / "run"), "--output", str(output)]  # fmt: skip
    measured = subprocess.run(command, capture_output=True, text=True, timeout=900, env=without_tensorflow[0])
    assert measured.returncode == 0, measured.stdout + measured.stderr
    first = workdir / "run" / "twice" / "run1"
    config = {"backend": "jax", "onnx": False, "data": {"dir": str(SAMPLE)}, "fit": {"epochs": 1}}
    report = run_snakemake(first, config, "--report", "results/report.html", env=without_tensorflow[0])
    assert report.returncode == 0, report.output
    return first, config, json.loads(output.read_text())


def test_two_runs_on_jax_give_the_same_bytes_and_the_gpu_script_says_so(jax_run):
    first, _, measured = jax_run
    assert measured["device"]["platform"] == "cpu" and measured["software"]["jax"]
    assert measured["twice"]["identical"] and measured["twice"]["differing"] == []
    assert (
        measured["twice"]["verdict"].startswith("all ")
        and "are the same in both runs" in measured["twice"]["verdict"]
    )
    assert "seeds" not in measured  # --replicates 0
    report = pd.read_csv(first / "results" / "classification_report.tsv", sep="\t", index_col=0)
    for run in measured["twice"]["runs"]:
        assert run["wall_s"] > 0 and run["train_job_s"] > 0 and len(run["epoch_s"]) == 1
        assert run["device"] == "CPU" and run["backend"]["name"] == "jax"
        assert run["test_accuracy"] == report.loc["accuracy", "f1-score"]


def test_tensorflow_is_not_needed_by_any_job(jax_run, without_tensorflow):
    first, _, _ = jax_run
    _, attempts = without_tensorflow
    # the sitecustomize refused TensorFlow: no job even asked for it
    assert not attempts.exists(), attempts.read_text()
    for job in ("train", "predict", "inspect_model", "model_config"):
        assert "TensorFlow" not in (first / "logs" / f"{job}.log").read_text(), job
    assert not (first / "logs" / "export_onnx.log").exists()  # onnx: false


def test_train_runs_on_jax_and_records_backend_device_and_flags(jax_run):
    first, _, _ = jax_run
    log = (first / "logs" / "train.log").read_text()
    flags = "XLA_FLAGS=--xla_gpu_deterministic_ops=true, PJRT_NPROC=2, XLA_PYTHON_CLIENT_PREALLOCATE=false"
    assert "INFO JAX " in log and flags in log
    assert "INFO epoch 1/1: accuracy" in log
    machine = yaml.safe_load((first / "results" / "model" / "train_machine.yaml").read_text())
    assert machine["device"] == "CPU" and machine["gpu"] is None
    assert machine["backend"]["name"] == "jax" and machine["backend"]["platform"] == "cpu"
    assert "--xla_gpu_deterministic_ops=true" in machine["backend"]["XLA_FLAGS"].split()
    assert machine["threads"] == {"PJRT_NPROC": 2}
    provenance = yaml.safe_load((first / "results" / "provenance.yaml").read_text())
    assert provenance["config"]["backend"] == "jax" and "gpu" not in provenance["config"]
    assert provenance["train"]["backend"] == machine["backend"]
    # Keras' settings file is the run's own
    assert (first / ".snakemake" / "keras" / "keras.json").exists()


def test_every_later_rule_reads_the_model_trained_on_jax(jax_run):
    first, _, _ = jax_run
    for job in per_run_jobs():
        if job != "export_onnx":
            assert (first / "logs" / f"{job}.log").exists(), job
    log = (first / "logs" / "predict.log").read_text()
    assert "with Keras on jax (results/model/model.keras)" in log
    report = pd.read_csv(first / "results" / "classification_report.tsv", sep="\t", index_col=0)
    assert report.loc["weighted avg", "support"] == 1000
    assert report.loc["accuracy", "f1-score"] > 0.15  # chance is 0.1; 5 steps on unscaled pixels
    page = (first / "results" / "report.html").read_text()
    assert "results/model/first_conv_filters.png" in page and "results/confusion_matrix.png" in page


def test_a_model_trained_on_jax_is_exported_to_onnx_on_tensorflow(jax_run, without_tensorflow):
    """onnx: true: export_onnx converts the JAX-trained model with tf2onnx (TensorFlow is allowed
    there alone), and predict runs it with onnxruntime: the classes Keras on JAX gave."""
    first, config, _ = jax_run
    from_keras = pd.read_csv(first / "results" / "probabilities.tsv", sep="\t").to_numpy()
    result = run_snakemake(
        first, {**config, "onnx": True}, "results/probabilities.tsv", env=without_tensorflow[0]
    )
    assert result.returncode == 0, result.output
    assert "rule train" not in result.output  # nothing is trained again
    assert "TensorFlow threads: 1 intra-op" in (first / "logs" / "export_onnx.log").read_text()
    log = (first / "logs" / "predict.log").read_text()
    assert "with onnxruntime (results/model/model.onnx)" in log and "TensorFlow" not in log
    from_onnx = pd.read_csv(first / "results" / "probabilities.tsv", sep="\t").to_numpy()
    np.testing.assert_array_equal(from_onnx.argmax(axis=1), from_keras.argmax(axis=1))
    # two runtimes of the same model, which add up in other orders
    np.testing.assert_allclose(from_onnx, from_keras, rtol=0, atol=1e-4)


# resume after a kill, as tests/test_interruptions.py does on TensorFlow
EPOCHS = 8
RESUMED = {
    "data": {"dir": str(SAMPLE)},
    "backend": "jax",
    "model": {"layers": TINY_CNN},
    "fit": {"epochs": EPOCHS, "batch_size": 100},
}
TARGET = "results/model/train_metrics.tsv"
TRAIN_INPUTS = [
    "results/data/train.npz",
    "results/model/model_config.json",
    "results/model/model_builder.json",
]


def test_train_on_jax_resumes_after_a_kill_with_the_uninterrupted_weights(without_tensorflow, tmp_path):
    env, attempts = without_tensorflow
    prepared = tmp_path / "prepared"  # train's inputs, made once for both runs
    made = run_snakemake(prepared, RESUMED, *TRAIN_INPUTS, env=env)
    assert made.returncode == 0, made.output
    uninterrupted, workdir = tmp_path / "uninterrupted", tmp_path / "interrupted"
    for copy in (uninterrupted, workdir):
        shutil.copytree(prepared, copy)
    result = run_snakemake(uninterrupted, RESUMED, TARGET, env=env)
    assert result.returncode == 0, result.output
    assert "rule check_data" not in result.output
    killed_at = kill_after_the_first_saved_epoch(workdir, RESUMED, EPOCHS, env=env)
    assert run_snakemake(workdir, RESUMED, "--unlock", env=env).returncode == 0
    resumed = run_snakemake(workdir, RESUMED, TARGET, env=env)
    assert resumed.returncode == 0, resumed.output
    log = (workdir / "logs" / "train.log").read_text()
    assert f"resuming at epoch {killed_at + 1} of {EPOCHS}" in log
    for mine, theirs in zip(
        weights(workdir / "results/model/weights.h5"),
        weights(uninterrupted / "results/model/weights.h5"),
        strict=True,
    ):
        np.testing.assert_array_equal(mine, theirs)
    history = [pd.read_csv(run / "results/model/history.tsv", sep="\t") for run in (workdir, uninterrupted)]
    pd.testing.assert_frame_equal(*history)
    assert not attempts.exists(), attempts.read_text()


def test_an_unknown_backend_is_a_config_error(tmp_path):
    result = run_snakemake(tmp_path, {"backend": "torch"}, "--dry-run")
    assert result.returncode != 0
    assert "Invalid config at backend: 'torch' is not one of ['tensorflow', 'jax']" in result.output
