"""Training on a small stratified subset of the real digits: split, fit, save, determinism."""

import json
import logging
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
import yaml

from mnist_cnn.data import read_split, save_split
from mnist_cnn.model_builder import builder_config, compile_model
from mnist_cnn.model_config import build_model, load_model_json
from mnist_cnn.prediction import predict
from mnist_cnn.training import (
    cpu_flags,
    hardware,
    holdout_split,
    open_training_state,
    resolve_precision,
    save_weights_h5,
    state_key,
    train,
    train_machine,
    with_precision,
)

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
HOLDOUT = CONFIG["holdout"]


@pytest.fixture(scope="module")
def train_split(tsv_dir):
    return read_split(tsv_dir / "X_train.tsv", tsv_dir / "y_train.tsv", 784, 10)


def tutorial_json() -> str:
    return build_model(CONFIG["model"]["input_shape"], CONFIG["model"]["layers"]).to_json()


def builder(precision="float32", **fit):
    settings = builder_config(CONFIG["compile"], {**CONFIG["fit"], **fit}, CONFIG["random_seed"], precision)
    return json.loads(json.dumps(settings))


def test_holdout_is_stratified_and_seeded(train_split):
    images, labels = train_split
    _, _, y_train, y_hold = holdout_split(images, labels, seed=0, **HOLDOUT)
    assert len(y_hold) == 600 and len(y_train) == 2400
    assert np.bincount(y_hold).tolist() == [60] * 10
    again = holdout_split(images, labels, seed=0, **HOLDOUT)[3]
    np.testing.assert_array_equal(y_hold, again)


def test_training_learns_and_reports_history_and_scores(train_split, mnist_test):
    model, history, scores = train(
        tutorial_json(), builder(epochs=3, batch_size=100), *train_split, HOLDOUT, 10
    )
    assert history.columns.tolist() == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert history["epoch"].tolist() == [1, 2, 3]
    assert set(scores) == {"loss", "accuracy"}
    assert scores["accuracy"] == pytest.approx(history["val_accuracy"].iloc[-1])
    assert scores["accuracy"] > 0.6  # chance is 0.1
    images, labels = mnist_test
    predicted = predict(model, images, "predict", 500)["Predicted"].to_numpy()
    assert np.mean(predicted == labels) > 0.6


def test_same_seed_gives_identical_weights_and_predictions(train_split, mnist_test):
    settings = builder(epochs=1, batch_size=200)
    runs = []
    for other_seed in (1, 2):
        keras.utils.set_random_seed(other_seed)  # whatever came before must not matter
        keras.random.uniform((3,))
        model, _, _ = train(tutorial_json(), settings, *train_split, HOLDOUT, 10)
        runs.append((model.get_weights(), predict(model, mnist_test[0][:1000], "predict_proba", 500)))
    for first, second in zip(runs[0][0], runs[1][0], strict=True):
        np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(runs[0][1].to_numpy(), runs[1][1].to_numpy())


TRAIN_IN_A_NEW_PROCESS = """
import hashlib, json, sys
sys.path.insert(0, "workflow/scripts")
from mnist_cnn.data import load_split
from mnist_cnn.tensorflow_runtime import set_up_tensorflow
from mnist_cnn.training import train
set_up_tensorflow(2)
builder = json.loads(sys.argv[2])
model, _, _ = train(sys.argv[3], builder, *load_split(sys.argv[1]), json.loads(sys.argv[4]), 10)
from tensorflow.python.framework.config import is_op_determinism_enabled
assert is_op_determinism_enabled()
print(hashlib.md5(b"".join(w.tobytes() for w in model.get_weights())).hexdigest())
"""


def test_same_seed_gives_identical_weights_in_separate_processes(train_split, tmp_path):
    """As two runs of the train rule would: each a fresh Python with its own hash seed."""
    save_split(tmp_path / "train.npz", *train_split)
    command = [sys.executable, "-c", TRAIN_IN_A_NEW_PROCESS, str(tmp_path / "train.npz"),
               json.dumps(builder(epochs=2, batch_size=100)), tutorial_json(), json.dumps(HOLDOUT)]  # fmt: skip
    digests = [
        subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout.split()[-1]
        for _ in range(2)
    ]
    assert digests[0] == digests[1]


def test_saved_model_and_hdf5_weights_reload(train_split, mnist_test, tmp_path):
    model, _, _ = train(tutorial_json(), builder(epochs=1), *train_split, HOLDOUT, 10)
    model.save(tmp_path / "model.keras")
    save_weights_h5(model, tmp_path / "weights.h5")
    (tmp_path / "model_config.json").write_text(model.to_json())
    images = mnist_test[0][:500]
    expected = predict(model, images, "predict_proba", 500)

    reloaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(predict(reloaded, images, "predict_proba", 500), expected)
    rebuilt = load_model_json(tmp_path / "model_config.json")
    rebuilt.load_weights(tmp_path / "weights.h5")
    np.testing.assert_array_equal(predict(rebuilt, images, "predict_proba", 500), expected)


def test_sparse_loss_takes_integer_labels(train_split):
    compile_settings = {**CONFIG["compile"], "loss": "sparse_categorical_crossentropy"}
    settings = json.loads(json.dumps(builder_config(compile_settings, {**CONFIG["fit"], "epochs": 1}, 0)))
    _, _, scores = train(tutorial_json(), settings, *train_split, HOLDOUT, 10)
    assert scores["accuracy"] > 0.2


def fast_json() -> str:
    fast = yaml.safe_load((REPO / "config" / "fast.yaml").read_text())
    return build_model(CONFIG["model"]["input_shape"], fast["model"]["layers"]).to_json()


def test_mixed_precision_computes_in_16_bits_but_the_output_layer(train_split, mnist_test):
    model, _, scores = train(
        fast_json(), builder("mixed_bfloat16", epochs=3, batch_size=100), *train_split, HOLDOUT, 10
    )
    policies = [layer.dtype_policy.name for layer in model.layers]
    assert policies == ["mixed_bfloat16"] * (len(model.layers) - 1) + ["float32"]
    assert all(weight.dtype == "float32" for weight in model.weights)
    assert scores["accuracy"] > 0.6
    probabilities = predict(model, mnist_test[0][:500], "predict_proba", 500)
    assert probabilities.dtypes.unique().tolist() == [np.float32]
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)


def test_float32_leaves_the_model_json_as_it_is():
    model_json = tutorial_json()
    assert with_precision(model_json, "float32") == model_json
    rewritten = json.loads(with_precision(model_json, "mixed_float16"))["config"]["layers"]
    assert [layer["config"]["dtype"]["config"]["name"] for layer in rewritten[1:]] == [
        "mixed_float16"
    ] * 6 + ["float32"]


def test_float16_training_scales_the_loss():
    # no fit: float16 arithmetic is emulated on CPUs and takes minutes; compile shows the wrapping
    model = keras.models.model_from_json(with_precision(tutorial_json(), "mixed_float16"))
    compile_model(model, builder("mixed_float16"), loss_scale=True)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(model.optimizer.inner_optimizer, keras.optimizers.Adam)


# Hardware descriptions as hardware() writes them: a CPU without and with bfloat16 units, GPUs.
PLAIN_CPU = {"cpu_flags": ["avx2", "fma", "sse4_2"], "gpu": None}
BF16_CPU = {"cpu_flags": ["amx_bf16", "avx2", "avx512_bf16", "avx512f"], "gpu": None}


def gpu(major, minor):
    return {"cpu_flags": PLAIN_CPU["cpu_flags"], "gpu": {"name": "GPU", "compute_capability": [major, minor]}}


@pytest.mark.parametrize(
    ("machine", "policy", "why"),
    [
        (PLAIN_CPU, "float32", "auto: CPU without AVX512_BF16 or AMX"),
        (BF16_CPU, "mixed_bfloat16", "auto: CPU with amx_bf16 and avx512_bf16"),
        (gpu(9, 0), "mixed_bfloat16", "auto: GPU of compute capability 9.0"),
        (gpu(8, 0), "mixed_bfloat16", "auto: GPU of compute capability 8.0"),
        (gpu(7, 5), "mixed_float16", "auto: GPU of compute capability 7.5"),
        (gpu(6, 1), "float32", "auto: GPU of compute capability 6.1"),
    ],
    ids=["plain-cpu", "bf16-cpu", "gpu-9.0", "gpu-8.0", "gpu-7.5", "gpu-6.1"],
)
def test_auto_precision_follows_the_hardware(machine, policy, why):
    assert resolve_precision("auto", machine) == (policy, why)
    assert resolve_precision("float32", machine) == ("float32", "as configured")
    assert resolve_precision("mixed_float16", machine) == ("mixed_float16", "as configured")


def test_hardware_describes_this_machine():
    machine = hardware()
    assert machine["cpu_flags"] == sorted(cpu_flags())
    if platform.machine() == "x86_64" and Path("/proc/cpuinfo").exists():
        assert "sse2" in machine["cpu_flags"]
    gpus = tf.config.list_physical_devices("GPU")
    assert (machine["gpu"] is None) == (not gpus)


def test_train_machine_record():
    machine = hardware()
    record = train_machine(machine, "auto")
    assert record["host"] == platform.node() and record["cpu"] and record["cpus_available"] >= 1
    assert record["device"] == (f"GPU {machine['gpu']['name']}" if machine["gpu"] else "CPU")
    from tensorflow.python.framework.config import is_op_determinism_enabled

    assert record["backend"] == {
        "name": "tensorflow",
        "version": tf.__version__,
        "op_determinism": is_op_determinism_enabled(),  # set_up_tensorflow turns it on in the rule
    }
    assert record["threads"] == {
        "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
    }
    used, why = resolve_precision("auto", machine)
    assert record["precision"] == {"requested": "auto", "used": used, "why": why}


def test_weights_h5_has_the_layout_keras_2_reads(tmp_path):
    """What README says of weights.h5: the layout of Keras 2's save_weights (as in Galaxy), which
    Keras 2's load_weights reads layer by layer, in order. Keras 2 itself is not installed here."""
    model = build_model(CONFIG["model"]["input_shape"], CONFIG["model"]["layers"])
    save_weights_h5(model, tmp_path / "weights.h5")
    with h5py.File(tmp_path / "weights.h5", "r") as weights:
        assert list(weights.attrs["layer_names"]) == [layer.name for layer in model.layers]
        assert {"keras_version", "backend"} <= set(weights.attrs)
        saved = [
            weights[layer][name][()]
            for layer in weights.attrs["layer_names"]
            for name in weights[layer].attrs["weight_names"]
        ]
    assert [array.shape for array in saved] == [array.shape for array in model.get_weights()]
    for array, expected in zip(saved, model.get_weights(), strict=True):
        np.testing.assert_array_equal(array, expected)


def test_a_saved_training_state_resumes_only_the_same_model_settings_data_precision_threads_and_backend(
    train_split, tmp_path, caplog
):
    images, labels = train_split
    model_json, settings = tutorial_json(), builder(epochs=3)
    key = state_key(model_json, settings, HOLDOUT, images, labels, "float32", 2, "tensorflow")
    state = open_training_state(tmp_path / "state", key)
    (state / "keras").mkdir()  # as BackupAndRestore leaves it after an epoch
    assert (open_training_state(state, key) / "keras").exists()
    other_layers = json.loads(model_json)
    other_layers["config"]["layers"][2]["config"]["filters"] = 32
    changes = [
        (json.dumps(other_layers), settings, HOLDOUT, images, labels, "float32", 2, "tensorflow"),
        (model_json, builder(epochs=4), HOLDOUT, images, labels, "float32", 2, "tensorflow"),
        (model_json, {**settings, "random_seed": 1}, HOLDOUT, images, labels, "float32", 2, "tensorflow"),
        (model_json, settings, {**HOLDOUT, "test_size": 0.1}, images, labels, "float32", 2, "tensorflow"),
        (model_json, settings, HOLDOUT, images[::-1], labels[::-1], "float32", 2, "tensorflow"),
        (model_json, settings, HOLDOUT, images, labels, "float32", 2, "jax"),
        (model_json, settings, HOLDOUT, images, labels, "mixed_bfloat16", 2, "tensorflow"),
        (model_json, settings, HOLDOUT, images, labels, "float32", 1, "tensorflow"),
    ]
    keys = [state_key(*change) for change in changes]
    assert len({json.dumps(other) for other in keys}) == len(changes) and key not in keys
    with caplog.at_level(logging.INFO):
        open_training_state(state, keys[-2])
    assert not (state / "keras").exists()
    assert (
        f"deleting the training state in {state}: it was saved with other precision (float32 then, "
        "mixed_bfloat16 now); training starts afresh" in caplog.text
    )
    (state / "keras").mkdir()
    with caplog.at_level(logging.INFO):
        open_training_state(state, keys[-1])
    assert not (state / "keras").exists()
    assert (
        "it was saved with other precision (mixed_bfloat16 then, float32 now) and threads (2 then, 1 now)"
        in caplog.text
    )
    (state / "keras").mkdir()
    with caplog.at_level(logging.INFO):
        open_training_state(state, keys[-3])
    assert not (state / "keras").exists()
    assert (
        "it was saved with other threads (1 then, 2 now) and backend (tensorflow then, jax now)"
        in caplog.text
    )


def test_the_state_is_keyed_by_the_precision_auto_chose_and_the_thread_count(train_split, tmp_path):
    settings = builder("auto", epochs=1, batch_size=200)
    train(tutorial_json(), settings, *train_split, HOLDOUT, 10, machine=PLAIN_CPU, state_dir=tmp_path)
    key = json.loads((tmp_path / "key.json").read_text())
    assert key["precision"] == "float32"
    assert key["threads"] == tf.config.threading.get_intra_op_parallelism_threads()
    assert key["backend"] == "tensorflow"


def epochs_trained(caplog) -> list[str]:
    return [
        record.getMessage().split(":")[0]
        for record in caplog.records
        if record.getMessage().startswith("epoch ")
    ]


@pytest.mark.parametrize("restore_best_weights", [False, True], ids=["last-weights", "restore-best-weights"])
def test_a_fit_that_ended_is_never_trained_past_its_end(train_split, tmp_path, caplog, restore_best_weights):
    """EarlyStopping stops after epoch 2 of 4: with a min_delta of 10, no epoch improves on the first."""
    stop = {
        "monitor": "val_loss",
        "min_delta": 10,
        "patience": 1,
        "restore_best_weights": restore_best_weights,
    }
    settings = builder(epochs=4, batch_size=200, callbacks=[{"type": "EarlyStopping", "args": stop}])
    state, model_json = tmp_path / "state", tutorial_json()  # one JSON: each numbers its layers anew
    with caplog.at_level(logging.INFO):
        model, history, scores = train(model_json, settings, *train_split, HOLDOUT, 10, state_dir=state)
    assert epochs_trained(caplog) == ["epoch 1/4", "epoch 2/4"]
    results = [(model.get_weights(), history, scores)]
    # the job dies after fit: the fitted model is read back
    caplog.clear()
    with caplog.at_level(logging.INFO):
        model, history, scores = train(model_json, settings, *train_split, HOLDOUT, 10, state_dir=state)
    assert epochs_trained(caplog) == []
    assert (
        f"fit had ended (2 epochs) before the job was cut short: its model, history and holdout scores are read from {state / 'fitted'}"
        in caplog.text
    )
    results.append((model.get_weights(), history, scores))
    # the job dies after fit but before the fitted model is saved: the state holds epoch 2
    shutil.rmtree(state / "fitted")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        model, history, scores = train(model_json, settings, *train_split, HOLDOUT, 10, state_dir=state)
    if restore_best_weights:  # epoch 1's weights were lost with the job: fit again, to the same end
        assert (
            "fit had ended, but the weights that restore_best_weights restores were not saved" in caplog.text
        )
        assert epochs_trained(caplog) == ["epoch 1/4", "epoch 2/4"]
    else:
        assert "fit had ended (2 epochs) before an interruption: its last epoch restored" in caplog.text
        assert epochs_trained(caplog) == []
    results.append((model.get_weights(), history, scores))
    for weights, history, scores in results[1:]:
        for array, expected in zip(weights, results[0][0], strict=True):
            np.testing.assert_array_equal(array, expected)
        pd.testing.assert_frame_equal(history, results[0][1])
        assert scores == results[0][2]
