"""Predictions on X_test, written as Galaxy's model_prediction writes them."""

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from mnist_cnn import InputError


def input_rows(model, images: np.ndarray) -> np.ndarray:
    """The images shaped as the model's input, still in their own dtype (uint8: a quarter the memory)."""
    return images.reshape(len(images), *model.input_shape[1:])


def model_inputs(model, images: np.ndarray) -> np.ndarray:
    """Unscaled pixels as float32, shaped as the model's input (rows of 784 by default)."""
    return input_rows(model, images).astype(np.float32)


def class_probabilities(model, images: np.ndarray, batch_size: int) -> pd.DataFrame:
    """The model's probability of every class for every image: a column per class (``0``, ``1``, ...)."""
    from mnist_cnn.keras_runtime import batches  # not at the top: the numpy-backend rules use the rest

    return probability_table(model.predict(batches(input_rows(model, images), None, batch_size), verbose=0))


def probability_table(probabilities: np.ndarray) -> pd.DataFrame:
    """An array of class probabilities (a row per image) as a table with a column per class."""
    return pd.DataFrame(probabilities, columns=[str(c) for c in range(probabilities.shape[1])])


def as_method(probabilities: pd.DataFrame, method: str) -> pd.DataFrame:
    """``predict``: one column ``Predicted`` (the class); ``predict_proba``: a column per class."""
    if method == "predict_proba":
        return probabilities
    return pd.DataFrame({"Predicted": probabilities.to_numpy().argmax(axis=1)})


def predict(model, images: np.ndarray, method: str, batch_size: int) -> pd.DataFrame:
    """Galaxy's model_prediction: ``method`` is ``predict`` or ``predict_proba``."""
    return as_method(class_probabilities(model, images, batch_size), method)


def write_predictions(predictions: pd.DataFrame, path) -> None:
    """Predictions as a TSV; probabilities with 9 significant digits, enough for every float32 to
    read back as itself (6 would write 0.99999962 as 1, and tie the most confident predictions)."""
    predictions.to_csv(path, sep="\t", index=False, float_format="%.9g")


def load_trained_model(path, n_features: int):
    """A trained Keras model that takes rows of ``n_features`` pixels; InputError naming the file if not."""
    import keras  # not at the top: the numpy-backend rules use the rest

    path = Path(path)
    try:
        model = keras.models.load_model(path)
    except Exception as error:  # Keras raises ValueError, OSError, zipfile's errors, ...
        raise InputError(f"{path.name}: expected a trained Keras model (.keras), found {error}") from None
    if math.prod(model.input_shape[1:]) != n_features:
        raise InputError(
            f"{path.name}: expected a model of {n_features} values per image (28x28 digits), "
            f"found one whose input is {model.input_shape[1:]}"
        )
    return model


def applied_predictions(probabilities: pd.DataFrame, image_names: list[str] | None = None) -> pd.DataFrame:
    """``Predicted`` and every class's probability; for images, first the file name (``image``) and
    after the class its probability (``probability``)."""
    predicted = probabilities.to_numpy().argmax(axis=1)
    columns = {"Predicted": predicted}
    if image_names is not None:
        columns = {"image": image_names, **columns, "probability": probabilities.to_numpy().max(axis=1)}
    return pd.concat([pd.DataFrame(columns), probabilities], axis=1)


@dataclass(frozen=True)
class ModelOutput:
    """What turns a run's images into class probabilities (``model_output``)."""

    runtime: str  # what runs the model, and which file: for the log
    probabilities: Callable[[np.ndarray, int], pd.DataFrame]  # (images, batch_size) -> a column per class


def model_output(model, onnx, n_features: int, threads: int) -> ModelOutput:
    """The one way every rule that turns images into class probabilities (predict, apply_model)
    runs the trained model, so that the same rows get the same probabilities in each.

    ``onnx``: the run's ONNX export (config onnx), or None. onnxruntime runs it, without
    TensorFlow, on ``threads`` threads. Without it, or when the model was trained in mixed precision
    (the export computes in float32, the model did not), Keras runs ``model`` on TensorFlow, set up
    for ``threads`` threads: the rule must not have started TensorFlow before. InputError naming the
    file if the Keras model does not take rows of ``n_features`` pixels.
    """
    if onnx:
        from mnist_cnn.onnx_model import onnx_probabilities, onnx_session, trained_precision

        session = onnx_session(onnx, threads)
        if (precision := trained_precision(session)) == "float32":
            return ModelOutput(f"onnxruntime ({onnx})", partial(onnx_probabilities, session))
        logging.info("trained in %s: running it with Keras, not %s (float32)", precision, Path(onnx).name)
    from mnist_cnn import keras_runtime  # not at the top: Keras, on TensorFlow or JAX

    keras_runtime.set_up(threads)
    return ModelOutput(
        f"Keras on {keras_runtime.backend()} ({model})",
        partial(class_probabilities, load_trained_model(model, n_features)),
    )
