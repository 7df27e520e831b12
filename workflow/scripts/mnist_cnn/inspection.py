"""Look inside a Keras model: its layers as a table, its first convolution layer's filters and maps."""

import keras
import numpy as np
import pandas as pd

from mnist_cnn import InputError
from mnist_cnn.prediction import model_inputs


def summary_table(model: keras.Model) -> pd.DataFrame:
    """What ``model.summary()`` prints: a row per layer (name, type, output shape, parameters), then the total."""
    rows = [
        {
            "layer": layer.name,
            "type": type(layer).__name__,
            "output_shape": str(tuple(layer.output.shape)).replace("None", "batch"),
            "parameters": layer.count_params(),
        }
        for layer in model.layers
    ]
    rows.append({"layer": "total", "type": "", "output_shape": "", "parameters": model.count_params()})
    return pd.DataFrame(rows)


def first_conv_layer(model: keras.Model) -> keras.layers.Conv2D | None:
    """The model's first Conv2D layer; None for a model without one (a fully connected network)."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            if layer.kernel.shape[2] != 1:
                raise InputError(
                    f"{layer.name}: expected a first Conv2D layer on one (grey) channel, "
                    f"found {layer.kernel.shape[2]} input channels"
                )
            return layer
    return None


def first_of_each_class(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """The index of the first image of each class (classes that do not occur are left out)."""
    return np.array([np.flatnonzero(labels == c)[0] for c in range(num_classes) if np.any(labels == c)])


def feature_maps(model: keras.Model, layer: keras.layers.Layer, images: np.ndarray) -> np.ndarray:
    """The output of ``layer`` for ``images``: (images, height, width, filters)."""
    upto = keras.Model(model.inputs, layer.output)
    return upto.predict(model_inputs(model, images), verbose=0)
