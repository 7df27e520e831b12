"""Keras' private API that the workflow uses (mnist_cnn/keras_private.py) is where the installed
Keras keeps it: after a Keras upgrade this fails first, naming what moved."""

import pytest

from mnist_cnn import keras_private


@pytest.mark.parametrize("where", [keras_private.KERAS2_MODEL_FROM_CONFIG, keras_private.KERAS2_SAVE_WEIGHTS])
def test_the_private_functions_are_where_this_keras_keeps_them(where):
    assert callable(keras_private.private(*where))


def test_a_moved_private_function_is_named():
    with pytest.raises(
        keras_private.PrivateKerasAPIMoved, match=r"has no keras\.src\.legacy\.gone\.model_from_config"
    ):
        keras_private.private("keras.src.legacy.gone", "model_from_config")
    with pytest.raises(
        keras_private.PrivateKerasAPIMoved, match=r"saving_utils\.renamed .*keras_private\.py"
    ):
        keras_private.private(keras_private.KERAS2_MODEL_FROM_CONFIG[0], "renamed")
