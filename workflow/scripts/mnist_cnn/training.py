"""Train and validate, as Galaxy's keras_train_and_eval: holdout split, fit, scores on the holdout."""

import json
import logging
import math
import platform
import time

import h5py
import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from keras.src.legacy.saving import legacy_h5_format
from sklearn.model_selection import train_test_split

from mnist_cnn.model_builder import compile_model, make_callbacks
from mnist_cnn.prediction import input_rows
from mnist_cnn.provenance import cpu_model, cpus_available
from mnist_cnn.tensorflow_runtime import batches


class TrainingTimer(keras.callbacks.Callback):
    """Seconds ``fit`` spends on training batches; the per-epoch holdout evaluation is left out."""

    def __init__(self):
        super().__init__()
        self.seconds = 0.0
        self._since = None

    def _stop(self):
        if self._since is not None:
            self.seconds += time.perf_counter() - self._since
            self._since = None

    def on_epoch_begin(self, epoch, logs=None):
        self._since = time.perf_counter()

    def on_test_begin(self, logs=None):
        self._stop()

    def on_epoch_end(self, epoch, logs=None):
        self._stop()


def cpu_flags() -> set[str]:
    """The instruction set flags of this Linux machine's CPU (empty elsewhere)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next(
                (set(line.split(":", 1)[1].split()) for line in cpuinfo if line.startswith("flags")), set()
            )
    except OSError:
        return set()


def gpu_description() -> dict | None:
    """The first GPU TensorFlow sees, by name and compute capability; None without one."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    return {
        "name": details.get("device_name", gpus[0].name),
        "compute_capability": list(details.get("compute_capability") or (0, 0)),
    }


def hardware() -> dict:
    """What train computes on: the machine, its CPU and its GPU (resolve_precision reads
    cpu_flags and gpu)."""
    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_flags": sorted(cpu_flags()),
        "cpus_available": cpus_available(),
        "gpu": gpu_description(),
    }


def train_machine(machine: dict, requested_precision: str) -> dict:
    """train's record of what it computed on: ``machine`` (as ``hardware()`` describes it), the
    threads TensorFlow was given and the precision chosen. Provenance merges it; no time stamp."""
    policy, why = resolve_precision(requested_precision, machine)
    return {
        **machine,
        "device": f"GPU {machine['gpu']['name']}" if machine["gpu"] else "CPU",
        "threads": {
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
        },
        "precision": {"requested": requested_precision, "used": policy, "why": why},
    }


def resolve_precision(requested: str, machine: dict) -> tuple[str, str]:
    """The Keras dtype policy for ``requested`` (``auto``: by ``machine``, as ``hardware()``
    describes it), and why."""
    if requested != "auto":
        return requested, "as configured"
    gpu = machine.get("gpu")
    if gpu:
        capability = tuple(gpu["compute_capability"])
        found = f"auto: GPU of compute capability {capability[0]}.{capability[1]}"
        if capability >= (8, 0):
            return "mixed_bfloat16", found
        return ("mixed_float16" if capability >= (7, 0) else "float32"), found
    bf16 = sorted({"avx512_bf16", "amx_bf16"} & set(machine["cpu_flags"]))
    if bf16:
        return "mixed_bfloat16", f"auto: CPU with {' and '.join(bf16)}"
    return "float32", "auto: CPU without AVX512_BF16 or AMX"


def with_precision(model_json: str, policy: str) -> str:
    """The model JSON with every layer but the last computing in ``policy``.

    The output layer stays float32, as Keras' mixed precision guide advises, so that the softmax and
    the loss keep full precision.
    """
    if policy == "float32":
        return model_json
    model = json.loads(model_json)
    for layer in model["config"]["layers"][:-1]:
        dtype = layer["config"].get("dtype")
        if isinstance(dtype, dict) and dtype.get("class_name") == "DTypePolicy":
            dtype["config"]["name"] = policy
    return json.dumps(model)


def holdout_split(images, labels, test_size: float, shuffle: bool, stratify: bool, seed: int):
    """(train images, holdout images, train labels, holdout labels), as scikit-learn splits them."""
    return train_test_split(
        images,
        labels,
        test_size=test_size,
        shuffle=shuffle,
        stratify=labels if stratify and shuffle else None,
        random_state=seed,
    )


def targets(labels: np.ndarray, loss: str, num_classes: int) -> np.ndarray:
    """Integer labels for sparse_* losses, one-hot rows for the others (categorical cross-entropy)."""
    if loss.startswith("sparse_"):
        return labels
    return keras.utils.to_categorical(labels, num_classes)


def train(
    model_json: str,
    builder: dict,
    images: np.ndarray,
    labels: np.ndarray,
    holdout: dict,
    num_classes: int,
    machine: dict | None = None,
) -> tuple[keras.Model, pd.DataFrame, dict[str, float]]:
    """The model of ``model_json`` trained; with its history (a row per epoch) and holdout scores.

    The model is made here, after seeding, so that its initial weights follow the seed too.
    ``machine``: the hardware precision ``auto`` goes by (default: this one's).
    """
    seed = builder["random_seed"]
    policy, why = resolve_precision(builder.get("precision", "float32"), machine or hardware())
    logging.info("precision: %s (%s)", policy, why)
    keras.utils.set_random_seed(seed)
    model = keras.models.model_from_json(with_precision(model_json, policy))
    x_train, x_hold, y_train, y_hold = holdout_split(images, labels, seed=seed, **holdout)
    loss, fit = builder["compile"]["loss"], builder["fit"]
    y_train, y_hold = targets(y_train, loss, num_classes), targets(y_hold, loss, num_classes)
    x_train, x_hold = input_rows(model, x_train), input_rows(model, x_hold)
    if fit["validation_split"]:  # as Keras splits: the last rows, before any shuffling
        split_at = math.floor(len(x_train) * (1 - fit["validation_split"]))
        x_train, x_val, y_train, y_val = (
            x_train[:split_at],
            x_train[split_at:],
            y_train[:split_at],
            y_train[split_at:],
        )
    else:  # Galaxy's keras_train_and_eval: the holdout is the validation data
        x_val, y_val = x_hold, y_hold
    compile_model(model, builder, loss_scale=policy == "mixed_float16")
    model_callbacks, timer = make_callbacks(builder), TrainingTimer()
    history = model.fit(
        batches(x_train, y_train, fit["batch_size"], shuffle_seed=seed),
        validation_data=batches(x_val, y_val, fit["batch_size"]),
        epochs=fit["epochs"],
        shuffle=False,  # batches() shuffles
        callbacks=[*model_callbacks, timer],
        verbose=2,
    )
    trained = len(x_train) * len(history.epoch)
    logging.info(
        "fit: %d training images in %.2f s: %.0f images/s (holdout evaluation not counted)",
        trained,
        timer.seconds,
        trained / timer.seconds,
    )
    if x_val is x_hold and not any(getattr(cb, "restore_best_weights", False) for cb in model_callbacks):
        # the last epoch's validation is this very model on the holdout: no need to evaluate again
        scores = {
            name.removeprefix("val_"): values[-1]
            for name, values in history.history.items()
            if name.startswith("val_")
        }
    else:
        scores = model.evaluate(batches(x_hold, y_hold, fit["batch_size"]), return_dict=True, verbose=0)
    epochs = pd.DataFrame(history.history)
    epochs.insert(0, "epoch", np.arange(1, len(epochs) + 1))
    return model, epochs, scores


def save_weights_h5(model: keras.Model, path) -> None:
    """HDF5 weights in the layout ``load_weights("x.h5")`` reads, in Keras 3 and in Galaxy's Keras 2.

    Keras 3's own ``save_weights`` insists on a ``.weights.h5`` name and a layout that
    ``load_weights`` reads only under such a name.
    """
    with h5py.File(path, "w") as out:
        legacy_h5_format.save_weights_to_hdf5_group(out, model)


def write_scores(scores: dict[str, float], path) -> None:
    """train_metrics.tsv: a header of score names and one row of values."""
    pd.DataFrame([scores]).to_csv(path, sep="\t", index=False, float_format="%.6g")
