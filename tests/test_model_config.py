"""model_config: Keras JSON from config.yaml's layer list, or from a JSON a user brings.

tests/data/galaxy_keras_*_cnn.json are model JSONs in the form Galaxy's keras_model_config
writes with Keras 2.3.1 (the tutorial's CNN) and Keras 2.10.0 (the Galaxy workflow's CNN).
"""

import base64
import json
import marshal
import os
import re
import subprocess
import sys
from pathlib import Path

import keras
import pytest
import yaml

from mnist_cnn import InputError, keras_private
from mnist_cnn.model_config import build_model, check_input_features, load_model_json

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"


def config(name="config.yaml"):
    return yaml.safe_load((REPO / name).read_text())


def test_tutorial_model_from_config_yaml():
    model_config = config()["model"]
    model = build_model(model_config["input_shape"], model_config["layers"])
    assert model.count_params() == 30_634
    assert [layer.__class__.__name__ for layer in model.layers] == [
        "Reshape",
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dense",
    ]
    assert model.layers[1].padding == "same" and model.layers[3].padding == "valid"
    assert model.output_shape == (None, 10)


def test_json_round_trip_keeps_the_model(tmp_path):
    model_config = config()["model"]
    model = build_model(model_config["input_shape"], model_config["layers"])
    (tmp_path / "model.json").write_text(model.to_json())
    loaded = load_model_json(tmp_path / "model.json")
    assert json.loads(loaded.to_json()) == json.loads(model.to_json())


@pytest.mark.parametrize(
    ("fixture", "params", "first_padding"),
    [("galaxy_keras_2.3.1_cnn.json", 30_634, "same"), ("galaxy_keras_2.10.0_cnn.json", 27_114, "valid")],
)
def test_galaxy_keras2_json_loads(fixture, params, first_padding):
    model = load_model_json(DATA / fixture)
    assert model.input_shape == (None, 784)
    assert model.count_params() == params
    assert model.layers[1].padding == first_padding
    check_input_features(model, 784, fixture)


def test_unknown_layer_names_its_position_and_a_suggestion():
    layers = [{"type": "Flatten"}, {"type": "Dense", "args": {"units": 10}}, {"type": "Conv2d", "args": {}}]
    with pytest.raises(
        InputError, match=r"model.layers\[2\]: unknown Keras layer 'Conv2d'; did you mean Conv2D"
    ):
        build_model([784], layers)


def test_unknown_argument_names_layer_and_argument():
    layers = [
        {"type": "Reshape", "args": {"target_shape": [28, 28, 1]}},
        {"type": "Conv2D", "args": {"filter": 8, "kernel_size": 3}},
    ]
    with pytest.raises(
        InputError, match=r"model.layers\[1\] \(Conv2D\): unknown argument 'filter'; did you mean 'filters'\?"
    ):
        build_model([784], layers)


def test_bad_argument_value_names_the_layer():
    with pytest.raises(
        InputError, match=r"model.layers\[0\] \(Dense\) with arguments .*'activation': 'relux'"
    ):
        build_model([784], [{"type": "Dense", "args": {"units": 10, "activation": "relux"}}])


def test_layer_that_does_not_fit_names_its_position():
    with pytest.raises(InputError, match=r"model.layers\[0\] \(Reshape\) does not fit"):
        build_model([784], [{"type": "Reshape", "args": {"target_shape": [28, 27, 1]}}])


def test_any_keras_layer_works():
    layers = [
        {"type": "Dense", "args": {"units": 32}},
        {"type": "Dropout", "args": {"rate": 0.5}},
        {"type": "BatchNormalization"},
        {"type": "Dense", "args": {"units": 10, "activation": "softmax"}},
    ]
    model = build_model([784], layers)
    assert isinstance(model.layers[2], keras.layers.BatchNormalization)


def test_input_shape_must_match_the_data():
    model = build_model([100], [{"type": "Dense", "args": {"units": 10}}])
    with pytest.raises(
        InputError, match=r"model.input_shape: the model's input shape is \(100,\), expected 784 values"
    ):
        check_input_features(model, 784, "model.input_shape")


def test_unreadable_json_is_an_error(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="bad.json: cannot be read as a Keras model JSON"):
        load_model_json(tmp_path / "bad.json")
    (tmp_path / "odd.json").write_text('{"class_name": "NoSuchModel", "config": {}}')
    with pytest.raises(InputError, match="odd.json: not a model JSON that Keras"):
        load_model_json(tmp_path / "odd.json")


BUILD_IN_A_NEW_PROCESS = """
import sys, yaml
from mnist_cnn import rule
if sys.argv[1] == "numpy":
    rule.keras_without_tensorflow(*rule.KERAS_EXTRAS)
from mnist_cnn.model_config import build_model, load_model_json
import keras
config = yaml.safe_load(open("config.yaml"))
model_json = build_model(config["model"]["input_shape"], config["model"]["layers"]).to_json(indent=2)
galaxy_json = load_model_json("tests/data/galaxy_keras_2.3.1_cnn.json").to_json(indent=2)
print(keras.backend.backend(), *(sys.modules.get(name) is not None for name in ("tensorflow", *rule.KERAS_EXTRAS)))
print(model_json, galaxy_json)
"""


def test_model_json_without_tensorflow_is_the_same():
    """The model_config rule builds on Keras' numpy backend, without TensorFlow, scikit-learn or
    matplotlib; train reads that JSON with TensorFlow."""
    outputs = {}
    for backend in ("numpy", "tensorflow"):
        outputs[backend] = subprocess.run(
            [sys.executable, "-c", BUILD_IN_A_NEW_PROCESS, backend],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO / "workflow" / "scripts")},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n", 1)
    assert outputs["numpy"][0] == "numpy False False False"
    assert outputs["tensorflow"][0] == "tensorflow True True True"
    assert outputs["numpy"][1] == outputs["tensorflow"][1]


def lambda_json(keras_version: str, sentinel: Path) -> dict:
    """The tutorial's model JSON with a Lambda layer whose code creates ``sentinel`` when run."""

    def touch(x):
        sentinel.touch()
        return x

    if keras_version == "3":
        layers = [
            keras.layers.Reshape((28, 28, 1)),
            keras.layers.Lambda(lambda x: touch(x)),
            keras.layers.Flatten(),
        ]
        model = json.loads(keras.Sequential([keras.Input((784,)), *layers]).to_json())
        sentinel.unlink()  # building the model ran the code once
        return model
    model = json.loads((DATA / "galaxy_keras_2.3.1_cnn.json").read_text())
    code = base64.b64encode(marshal.dumps((lambda x: (open(sentinel, "w").close(), x)[1]).__code__))
    lambda_layer = {
        "class_name": "Lambda",
        "config": {
            "name": "lambda_1",
            "trainable": True,
            "dtype": "float32",
            "function": [code.decode("ascii"), None, None],  # as Keras 2's func_dump writes it
            "function_type": "lambda",
            "module": "__main__",
            "output_shape": None,
            "output_shape_type": "raw",
            "output_shape_module": None,
            "arguments": {},
        },
    }
    model["config"]["layers"].insert(1, lambda_layer)
    return model


@pytest.mark.parametrize(
    ("keras_version", "where"),
    [
        ("3", "config.layers[2] is a Lambda"),
        ("2", "config.layers[1] is a Lambda"),
        # the same bytecode under another class name: caught by its field
        ("2-renamed", "config.layers[1].config.function holds a function"),
    ],
)
def test_model_json_with_code_is_refused_before_loading(tmp_path, monkeypatch, keras_version, where):
    def no_loading(*args, **kwargs):
        raise AssertionError("the JSON reached Keras' loader")

    monkeypatch.setattr(keras_private, "model_from_keras2_config", no_loading)
    monkeypatch.setattr(keras.models, "model_from_json", no_loading)
    path = tmp_path / "model.json"
    model = lambda_json(keras_version.removesuffix("-renamed"), tmp_path / "ran")
    if keras_version.endswith("-renamed"):
        model["config"]["layers"][1]["class_name"] = "Activation"
    path.write_text(json.dumps(model))
    with pytest.raises(InputError, match=f"model.json: {re.escape(where)}.*: refused"):
        load_model_json(path)
    assert not (tmp_path / "ran").exists()


def test_model_json_naming_a_module_outside_keras_is_refused(tmp_path):
    model = json.loads((DATA / "galaxy_keras_2.3.1_cnn.json").read_text())
    model["config"]["layers"][0]["module"] = "os"
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model))
    with pytest.raises(
        InputError, match="config.layers\\[0\\] is an object of module 'os', which loading would import"
    ):
        load_model_json(path)
