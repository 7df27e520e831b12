"""Config ``backend: jax``: the sample workflow, resume after a kill, and the same weights from the
same seed, on JAX with TensorFlow made unimportable (tests/without_tensorflow) in every job but
export_onnx, which converts with tf2onnx on TensorFlow whatever the backend.

JAX on a CPU is far slower than TensorFlow for this model: one epoch of the tutorial's model in
the workflow, a four-filter CNN elsewhere.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from test_interruptions import saved_epoch, snakemake_command, weights
from workflow_runner import PER_RUN_JOBS, REPO, run_snakemake

from mnist_cnn.data import save_split
from mnist_cnn.model_builder import builder_config
from mnist_cnn.model_config import build_model

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
def without_tensorflow(tmp_path_factory):
    """TensorFlow unimportable in every process started from here on but export_onnx's; the file
    where each attempt to import it is recorded."""
    imports = tmp_path_factory.mktemp("tensorflow_imports") / "attempts.txt"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(
            "PYTHONPATH",
            os.pathsep.join(filter(None, [str(WITHOUT_TENSORFLOW), os.environ.get("PYTHONPATH")])),
        )
        patch.setenv("TENSORFLOW_IMPORTS", str(imports))
        patch.setenv("TENSORFLOW_ALLOWED", "export_onnx.py")
        yield imports


@pytest.fixture(scope="module")
def jax_run(without_tensorflow, tmp_path_factory):
    """The sample workflow on JAX, one epoch, then its report."""
    workdir = tmp_path_factory.mktemp("jax_run")
    config = {"data": {"dir": str(SAMPLE)}, "backend": "jax", "fit": {"epochs": 1}}
    result = run_snakemake(workdir, config, configfiles=(REPO / "config" / "sample.yaml",))
    assert result.returncode == 0, result.output
    report = run_snakemake(
        workdir, config, "--report", "results/report.html", configfiles=(REPO / "config" / "sample.yaml",)
    )
    assert report.returncode == 0, report.output
    return workdir, config


def test_tensorflow_is_not_needed_by_any_job_but_export_onnx(jax_run, without_tensorflow):
    workdir, _ = jax_run
    # the sitecustomize refused TensorFlow: in the jobs on JAX, Keras never even asked for it
    assert not without_tensorflow.exists(), without_tensorflow.read_text()
    for job in ("train", "predict", "inspect_model", "model_config"):
        assert "TensorFlow" not in (workdir / "logs" / f"{job}.log").read_text(), job
    assert "TensorFlow threads: 1 intra-op" in (workdir / "logs" / "export_onnx.log").read_text()


def test_train_runs_on_jax_and_records_backend_device_and_flags(jax_run):
    workdir, _ = jax_run
    log = (workdir / "logs" / "train.log").read_text()
    assert "INFO JAX " in log and "XLA_FLAGS=--xla_gpu_deterministic_ops=true, PJRT_NPROC=2" in log
    assert "INFO epoch 1/1: accuracy" in log
    machine = yaml.safe_load((workdir / "results" / "model" / "train_machine.yaml").read_text())
    assert machine["device"] == "CPU" and machine["gpu"] is None
    assert machine["backend"]["name"] == "jax" and machine["backend"]["platform"] == "cpu"
    assert "--xla_gpu_deterministic_ops=true" in machine["backend"]["XLA_FLAGS"].split()
    assert machine["threads"] == {"PJRT_NPROC": 2}
    provenance = yaml.safe_load((workdir / "results" / "provenance.yaml").read_text())
    assert provenance["config"]["backend"] == "jax" and "gpu" not in provenance["config"]
    assert provenance["train"]["backend"] == machine["backend"]
    # Keras' settings file is the run's own
    assert (workdir / ".snakemake" / "keras" / "keras.json").exists()


def test_every_later_rule_reads_the_model_trained_on_jax(jax_run):
    workdir, _ = jax_run
    for job in PER_RUN_JOBS:
        assert (workdir / "logs" / f"{job}.log").exists(), job
    assert "with onnxruntime (results/model/model.onnx)" in (workdir / "logs" / "predict.log").read_text()
    report = pd.read_csv(workdir / "results" / "classification_report.tsv", sep="\t", index_col=0)
    assert report.loc["weighted avg", "support"] == 1000
    assert report.loc["accuracy", "f1-score"] > 0.2  # chance is 0.1; one epoch of unscaled pixels
    page = (workdir / "results" / "report.html").read_text()
    assert "results/model/first_conv_filters.png" in page and "results/confusion_matrix.png" in page


def test_predict_runs_keras_on_jax_without_the_onnx_export(jax_run):
    """onnx: false: predict runs the model with Keras on JAX, which gives ONNX's classes."""
    workdir, config = jax_run
    from_onnx = pd.read_csv(workdir / "results" / "probabilities.tsv", sep="\t").to_numpy()
    result = run_snakemake(
        workdir,
        {**config, "onnx": False},
        "results/probabilities.tsv",
        configfiles=(REPO / "config" / "sample.yaml",),
    )
    assert result.returncode == 0, result.output
    log = (workdir / "logs" / "predict.log").read_text()
    assert "with Keras on jax (results/model/model.keras)" in log and "TensorFlow" not in log
    assert "rule train" not in result.output  # nothing is trained again
    from_keras = pd.read_csv(workdir / "results" / "probabilities.tsv", sep="\t").to_numpy()
    np.testing.assert_array_equal(from_keras.argmax(axis=1), from_onnx.argmax(axis=1))
    np.testing.assert_allclose(from_keras, from_onnx, rtol=0, atol=1e-5)


TRAIN_ON_JAX = """
import hashlib, json, sys
sys.path.insert(0, "workflow/scripts")
from mnist_cnn import rule
rule.keras_on("jax", 1)
from mnist_cnn import keras_runtime
from mnist_cnn.data import load_split
from mnist_cnn.training import train
keras_runtime.set_up(1)
model, _, _ = train(sys.argv[3], json.loads(sys.argv[2]), *load_split(sys.argv[1]), json.loads(sys.argv[4]), 10)
assert keras_runtime.backend() == "jax" and sys.modules["tensorflow"] is None
print(hashlib.md5(b"".join(w.tobytes() for w in model.get_weights())).hexdigest())
"""


def test_same_seed_gives_identical_weights_on_jax(tsv_dir, tmp_path):
    """As two runs of the train rule on JAX would: each a fresh Python, side by side."""
    from mnist_cnn.data import read_split

    save_split(tmp_path / "train.npz", *read_split(tsv_dir / "X_train.tsv", tsv_dir / "y_train.tsv", 784, 10))
    settings = builder_config(CONFIG["compile"], {**CONFIG["fit"], "epochs": 1, "batch_size": 100}, 0)
    command = [
        sys.executable, "-c", TRAIN_ON_JAX, str(tmp_path / "train.npz"), json.dumps(settings),
        build_model(CONFIG["model"]["input_shape"], TINY_CNN).to_json(), json.dumps(CONFIG["holdout"]),
    ]  # fmt: skip
    runs = [subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    digests = [run.communicate(timeout=600)[0].split() for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    assert digests[0][-1] == digests[1][-1]


# resume after a kill, as tests/test_interruptions.py does on TensorFlow
EPOCHS = 8
RESUMED = {
    "data": {"dir": str(SAMPLE)},
    "backend": "jax",
    "model": {"layers": TINY_CNN},
    "fit": {"epochs": EPOCHS, "batch_size": 100},
}
TARGET = "results/model/train_metrics.tsv"


def test_train_on_jax_resumes_after_a_kill_with_the_uninterrupted_weights(without_tensorflow, tmp_path):
    uninterrupted = tmp_path / "uninterrupted"
    result = run_snakemake(uninterrupted, RESUMED, TARGET)
    assert result.returncode == 0, result.output
    workdir = tmp_path / "interrupted"
    workdir.mkdir()
    run = subprocess.Popen(
        snakemake_command(workdir, RESUMED),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while saved_epoch(workdir) < 1:
        assert run.poll() is None, "the run ended before train saved an epoch"
        assert time.monotonic() < deadline, "train saved no epoch in 600 s"
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    killed_at = saved_epoch(workdir)
    assert killed_at < EPOCHS, "train finished before the kill: more epochs are needed"
    assert run_snakemake(workdir, RESUMED, "--unlock").returncode == 0
    resumed = run_snakemake(workdir, RESUMED, TARGET)
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
    assert not without_tensorflow.exists(), without_tensorflow.read_text()


def test_an_unknown_backend_is_a_config_error(tmp_path):
    result = run_snakemake(tmp_path, {"backend": "torch"}, "--dry-run")
    assert result.returncode != 0
    assert "Invalid config at backend: 'torch' is not one of ['tensorflow', 'jax']" in result.output
