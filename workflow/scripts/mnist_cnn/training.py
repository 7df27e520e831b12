"""Train and validate, as Galaxy's keras_train_and_eval: holdout split, fit, scores on the holdout."""

import hashlib
import json
import logging
import math
import os
import platform
import shutil
import time
from pathlib import Path

import h5py
import keras
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from tqdm import tqdm

from mnist_cnn import keras_private, keras_runtime
from mnist_cnn.keras_runtime import NumpyBatches, batches
from mnist_cnn.model_builder import compile_model, make_callbacks
from mnist_cnn.prediction import input_rows
from mnist_cnn.provenance import cpu_model, cpus_available

# How many iterators of the training dataset Keras' fit makes per epoch (see EpochProgress).
ITERATORS_PER_EPOCH = 2


class EpochProgress(keras.callbacks.Callback):
    """What ``fit`` reports as it goes: a log line as each epoch ends, a progress bar on a terminal.

    It also keeps every epoch's row of the history (in ``state_dir``/history.json when training
    can resume, so that a resumed run's history starts at epoch 1), with whether a callback stopped
    fit after the last one, and continues the shuffling of ``shuffled`` where an interrupted run
    left it: a tf.data pipeline (TensorFlow) draws the next order with each new iterator, and
    ``NumpyBatches`` (JAX) draws each epoch's from the epoch's number, which it is given here.
    """

    def __init__(self, epochs: int, steps: int, images: int, shuffled=None, state_dir=None, terminal=None):
        super().__init__()
        self.epochs, self.steps, self.images = epochs, steps, images
        self.shuffled, self.terminal = shuffled, terminal
        self.history_path = None if state_dir is None else Path(state_dir) / "history.json"
        # rows of the epochs a killed run finished; cut to the epochs its saved state holds below
        self.rows, self.stopped = saved_history(state_dir)
        self.first_epoch = None  # the first epoch this run trains (0-based), if any
        self.seconds = 0.0  # on training batches; the holdout evaluation is left out
        self.bar = None
        self._since = self._epoch_since = None

    def on_epoch_begin(self, epoch, logs=None):
        if isinstance(self.shuffled, NumpyBatches):
            self.shuffled.epoch = epoch  # its order follows the seed and the epoch's number
        if self.first_epoch is None:
            self.first_epoch = epoch
            self.rows = self.rows[:epoch]
            if epoch:
                logging.info(
                    "resuming at epoch %d of %d: epochs 1 to %d restored from the saved state",
                    epoch + 1,
                    self.epochs,
                    epoch,
                )
                if self.shuffled is not None and not isinstance(self.shuffled, NumpyBatches):
                    # Each new iterator of the dataset draws the next shuffled order. Keras' fit
                    # (its EpochIterator, Keras 3.15) makes two per epoch: one as the epoch starts
                    # and one after its last batch, which the next epoch replaces. Skip as many
                    # as the epochs restored made, so that the rest see the orders they would
                    # have seen (tests/test_interruptions.py checks the weights are the same).
                    for _ in range(ITERATORS_PER_EPOCH * epoch):
                        iter(self.shuffled)
            if self.terminal is not None:
                self.bar = tqdm(
                    total=self.epochs * self.steps,
                    initial=epoch * self.steps,
                    unit="batch",
                    file=self.terminal,
                    leave=False,
                    ascii=True,
                )
        if self.bar is not None:
            self.bar.set_description(f"epoch {epoch + 1}/{self.epochs}")
        self._since = self._epoch_since = time.perf_counter()
        self._epoch_cpu_since = time.process_time()

    def on_train_batch_end(self, batch, logs=None):
        if self.bar is not None:
            self.bar.update(1)

    def _stop(self):
        if self._since is not None:
            self.epoch_seconds = time.perf_counter() - self._since
            self.seconds += self.epoch_seconds
            self._since = None

    def on_test_begin(self, logs=None):
        self._stop()

    def on_epoch_end(self, epoch, logs=None):
        self._stop()
        row = {"epoch": epoch + 1, **{name: float(value) for name, value in logs.items()}}
        self.rows.append(row)
        # EarlyStopping's on_epoch_end, which comes first, has set it if fit stops here
        self.stopped = bool(self.model.stop_training)
        if self.history_path is not None:
            partial = self.history_path.with_suffix(".partial")
            partial.write_text(json.dumps({"rows": self.rows, "stopped": self.stopped}))
            os.replace(partial, self.history_path)
        scores = ", ".join(f"{name} {value:.4f}" for name, value in row.items() if name != "epoch")
        logging.info(
            "epoch %d/%d: %s; %.1f s, %.0f images/s, %.1f s of CPU",
            epoch + 1,
            self.epochs,
            scores,
            time.perf_counter() - self._epoch_since,
            self.images / self.epoch_seconds,
            time.process_time() - self._epoch_cpu_since,
        )

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()


def saved_history(state_dir) -> tuple[list[dict], bool]:
    """The history rows EpochProgress saved in ``state_dir`` (none without one), and whether a
    callback stopped fit after the last of them."""
    path = None if state_dir is None else Path(state_dir) / "history.json"
    if path is None or not path.exists():
        return [], False
    saved = json.loads(path.read_text())
    return saved["rows"], saved["stopped"]


def cpu_flags() -> set[str]:
    """The instruction set flags of this Linux machine's CPU (empty elsewhere)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next(
                (set(line.split(":", 1)[1].split()) for line in cpuinfo if line.startswith("flags")), set()
            )
    except OSError:
        return set()


def hardware() -> dict:
    """What train computes on: the machine, its CPU and the GPU that Keras' backend sees
    (resolve_precision reads cpu_flags and gpu)."""
    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_flags": sorted(cpu_flags()),
        "cpus_available": cpus_available(),
        "gpu": keras_runtime.gpu_description(),
    }


def train_machine(machine: dict, requested_precision: str) -> dict:
    """train's record of what it computed on: ``machine`` (as ``hardware()`` describes it), Keras'
    backend with its version and determinism settings (XLA_FLAGS for JAX), its threads and the
    precision chosen. Provenance merges it; no time stamp."""
    policy, why = resolve_precision(requested_precision, machine)
    return {
        **machine,
        "device": f"GPU {machine['gpu']['name']}" if machine["gpu"] else "CPU",
        **keras_runtime.computed_with(),
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


def state_key(
    model_json: str,
    builder: dict,
    holdout: dict,
    images: np.ndarray,
    labels: np.ndarray,
    precision: str,
    threads: int,
    backend: str,
) -> dict:
    """What a saved training state belongs to: the exact model, training settings, holdout and data,
    and what else changes the numbers: the ``precision`` policy used (``auto`` may choose another on
    another machine), the number of ``threads`` (they change the order of the sums) and Keras'
    ``backend``."""
    digest = hashlib.md5()
    for part in (model_json, json.dumps(builder, sort_keys=True), json.dumps(holdout, sort_keys=True)):
        digest.update(part.encode() + b"\0")
    digest.update(images.tobytes())
    digest.update(labels.tobytes())
    return {
        "model, settings or data": digest.hexdigest(),
        "precision": precision,
        "threads": threads,
        "backend": backend,
    }


def open_training_state(state_dir: Path, key: dict) -> Path:
    """``state_dir``, holding the state of an interrupted run with the same ``key`` if there is one.

    A state saved for another model, other settings, other data, another precision, another
    thread count or another backend is deleted, with a log line that says which: it never resumes.
    """
    key_file = state_dir / "key.json"
    if state_dir.exists():
        saved = json.loads(key_file.read_text()) if key_file.exists() else {}
        changed = [
            name if name == "model, settings or data" else f"{name} ({saved.get(name)} then, {value} now)"
            for name, value in key.items()
            if saved.get(name) != value
        ]
        if changed:
            logging.info(
                "deleting the training state in %s: it was saved with other %s; training starts afresh",
                state_dir,
                " and ".join(changed),
            )
            shutil.rmtree(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    key_file.with_suffix(".partial").write_text(json.dumps(key))
    os.replace(key_file.with_suffix(".partial"), key_file)
    return state_dir


def save_fitted(state_dir: Path, model: keras.Model, rows: list[dict], scores: dict[str, float]) -> None:
    """The result of a fit that ended, in ``state_dir``/fitted: the model (with what
    ``restore_best_weights`` restored), its history and holdout scores. Written as fit returns, so
    that a job cut short while it writes its outputs goes straight back to writing them."""
    partial = state_dir / "fitted.partial"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir()
    model.save(partial / "model.keras")
    (partial / "fit.json").write_text(json.dumps({"history": rows, "scores": scores}))
    os.replace(partial, state_dir / "fitted")


def read_fitted(state_dir: Path) -> tuple[keras.Model, pd.DataFrame, dict[str, float]] | None:
    """What ``save_fitted`` saved in ``state_dir``, as ``train`` returns it; None if nothing was."""
    fitted = state_dir / "fitted"
    if not fitted.exists():
        return None
    saved = json.loads((fitted / "fit.json").read_text())
    logging.info(
        "fit had ended (%d epochs) before the job was cut short: its model, history and holdout scores "
        "are read from %s; no epoch is trained again",
        len(saved["history"]),
        fitted,
    )
    return keras.models.load_model(fitted / "model.keras"), pd.DataFrame(saved["history"]), saved["scores"]


def train(
    model_json: str,
    builder: dict,
    images: np.ndarray,
    labels: np.ndarray,
    holdout: dict,
    num_classes: int,
    machine: dict | None = None,
    state_dir: Path | None = None,
    terminal=None,
) -> tuple[keras.Model, pd.DataFrame, dict[str, float]]:
    """The model of ``model_json`` trained; with its history (a row per epoch) and holdout scores.

    The model is made here, after seeding, so that its initial weights follow the seed too.
    ``machine``: the hardware precision ``auto`` goes by (default: this one's).
    With ``state_dir``, the state is saved there after every epoch, and the model, history and
    scores once fit ends (the caller deletes it once the results are written). A run that was
    killed resumes from its last saved epoch, or returns what the ended fit saved without training.
    A progress bar goes to ``terminal``, if given.
    """
    seed = builder["random_seed"]
    policy, why = resolve_precision(builder.get("precision", "float32"), machine or hardware())
    logging.info("precision: %s (%s)", policy, why)
    fit = builder["fit"]
    model_callbacks = make_callbacks(builder)
    restores_best = any(getattr(cb, "restore_best_weights", False) for cb in model_callbacks)
    epochs = fit["epochs"]  # the last epoch fit may train
    if state_dir is not None:
        key = state_key(
            model_json,
            builder,
            holdout,
            images,
            labels,
            policy,
            keras_runtime.threads(),
            keras_runtime.backend(),
        )
        state_dir = open_training_state(Path(state_dir), key)
        fitted = read_fitted(state_dir)
        if fitted is not None:
            return fitted
        rows, stopped = saved_history(state_dir)
        if stopped or len(rows) == epochs:  # fit had ended, and the job died before its result was saved
            if restores_best:
                logging.info(
                    "deleting the training state in %s: fit had ended, but the weights that "
                    "restore_best_weights restores were not saved; training starts afresh",
                    state_dir,
                )
                shutil.rmtree(state_dir)
                state_dir = open_training_state(state_dir, key)
            else:  # the state holds fit's last epoch: never train past it
                epochs = len(rows)
    keras.utils.set_random_seed(seed)
    model = keras.models.model_from_json(with_precision(model_json, policy))
    x_train, x_hold, y_train, y_hold = holdout_split(images, labels, seed=seed, **holdout)
    loss = builder["compile"]["loss"]
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
    training_batches = batches(x_train, y_train, fit["batch_size"], shuffle_seed=seed)
    progress = EpochProgress(
        fit["epochs"],
        math.ceil(len(x_train) / fit["batch_size"]),
        len(x_train),
        shuffled=training_batches,
        state_dir=state_dir,
        terminal=terminal,
    )
    callbacks = [*model_callbacks, progress]
    if state_dir is not None:  # after progress, which writes the epoch's history row first
        callbacks.append(
            keras.callbacks.BackupAndRestore(
                state_dir / "keras", double_checkpoint=True, delete_checkpoint=False
            )
        )
    model.fit(
        training_batches,
        validation_data=batches(x_val, y_val, fit["batch_size"]),
        epochs=epochs,
        shuffle=False,  # batches() shuffles
        callbacks=callbacks,
        verbose=0,  # progress logs each epoch
    )
    if progress.first_epoch is None:
        logging.info(
            "fit had ended (%d epochs) before an interruption: its last epoch restored from %s; "
            "no epoch is trained again",
            epochs,
            state_dir,
        )
    else:
        trained = len(x_train) * (len(progress.rows) - progress.first_epoch)
        logging.info(
            "fit: %d training images in %.2f s: %.0f images/s (holdout evaluation not counted)",
            trained,
            progress.seconds,
            trained / progress.seconds,
        )
    history = pd.DataFrame(progress.rows)
    if x_val is x_hold and not restores_best:
        # the last epoch's validation is this very model on the holdout: no need to evaluate again
        scores = {
            name.removeprefix("val_"): float(history[name].iloc[-1])
            for name in history.columns
            if name.startswith("val_")
        }
    else:
        scores = model.evaluate(batches(x_hold, y_hold, fit["batch_size"]), return_dict=True, verbose=0)
        scores = {name: float(value) for name, value in scores.items()}
    if state_dir is not None:
        save_fitted(state_dir, model, progress.rows, scores)
    return model, history, scores


def save_weights_h5(model: keras.Model, path) -> None:
    """HDF5 weights in the layout ``load_weights("x.h5")`` reads, in Keras 3 and in Galaxy's Keras 2.

    Keras 3's own ``save_weights`` insists on a ``.weights.h5`` name and a layout that
    ``load_weights`` reads only under such a name.
    """
    with h5py.File(path, "w") as out:
        keras_private.save_weights_in_keras2_layout(out, model)


def write_scores(scores: dict[str, float], path) -> None:
    """train_metrics.tsv: a header of score names and one row of values."""
    pd.DataFrame([scores]).to_csv(path, sep="\t", index=False, float_format="%.6g")
