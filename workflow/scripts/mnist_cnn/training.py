"""Train and validate, as Galaxy's keras_train_and_eval: holdout split, fit, scores on the holdout."""

import logging

import h5py
import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from keras.src.legacy.saving import legacy_h5_format
from sklearn.model_selection import train_test_split

from mnist_cnn.model_builder import compile_model, make_callbacks
from mnist_cnn.prediction import model_inputs


def set_up_tensorflow(threads: int) -> None:
    """TensorFlow for a rule: thread pools sized to its ``threads``, deterministic ops (call first).

    Without op determinism TensorFlow may pick kernels (on GPUs above all) that add floating-point
    numbers in a different order on every run, and the same seed would not give the same bits.
    The thread count changes the order of the sums as well: bit-identical results need the same
    number of threads, as well as the same CPU or GPU and the same versions.
    """
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    tf.config.experimental.enable_op_determinism()
    logging.info("TensorFlow threads: %d intra-op, %d inter-op; op determinism on", threads, threads)


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
) -> tuple[keras.Model, pd.DataFrame, dict[str, float]]:
    """The model of ``model_json`` trained; with its history (a row per epoch) and holdout scores.

    The model is made here, after seeding, so that its initial weights follow the seed too.
    """
    seed = builder["random_seed"]
    keras.utils.set_random_seed(seed)
    model = keras.models.model_from_json(model_json)
    x_train, x_hold, y_train, y_hold = holdout_split(images, labels, seed=seed, **holdout)
    loss = builder["compile"]["loss"]
    x_train, x_hold = model_inputs(model, x_train), model_inputs(model, x_hold)
    y_train, y_hold = targets(y_train, loss, num_classes), targets(y_hold, loss, num_classes)
    compile_model(model, builder)
    fit = builder["fit"]
    validation = (
        {"validation_split": fit["validation_split"]}
        if fit["validation_split"]
        else {"validation_data": (x_hold, y_hold)}
    )
    history = model.fit(
        x_train,
        y_train,
        epochs=fit["epochs"],
        batch_size=fit["batch_size"],
        callbacks=make_callbacks(builder),
        verbose=2,
        **validation,
    )
    scores = model.evaluate(x_hold, y_hold, batch_size=fit["batch_size"], return_dict=True, verbose=0)
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
