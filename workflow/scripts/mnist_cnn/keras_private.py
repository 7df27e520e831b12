"""Keras' private API behind one door: the two things that Keras 3 does only in private modules,
reading a Keras 2 model config (Galaxy's JSON) and writing weights in Keras 2's HDF5 layout.

A Keras upgrade that moves either fails here with a message that names it, and
tests/test_keras_private.py fails the same way before any rule does.
"""

import importlib

import keras

# What is used, where Keras 3.15 keeps it.
KERAS2_MODEL_FROM_CONFIG = ("keras.src.legacy.saving.saving_utils", "model_from_config")
KERAS2_SAVE_WEIGHTS = ("keras.src.legacy.saving.legacy_h5_format", "save_weights_to_hdf5_group")


class PrivateKerasAPIMoved(RuntimeError):
    """The installed Keras lacks a private function this workflow uses."""


def private(module: str, name: str):
    """``module.name`` of Keras' private API, or an error saying it moved."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise PrivateKerasAPIMoved(
            f"Keras {keras.__version__} has no {module}.{name} ({error}): this workflow is tested with the "
            "Keras of requirements.txt; install that one, or find where this Keras keeps that function "
            "and change workflow/scripts/mnist_cnn/keras_private.py"
        ) from None


def model_from_keras2_config(config: dict) -> keras.Model:
    """A model from a Keras 2 model config, its class names already those of Keras 3."""
    return private(*KERAS2_MODEL_FROM_CONFIG)(config)


def save_weights_in_keras2_layout(h5_group, model: keras.Model) -> None:
    """Write the model's weights into an open h5py file or group as Keras 2's ``save_weights`` did."""
    private(*KERAS2_SAVE_WEIGHTS)(h5_group, model)
