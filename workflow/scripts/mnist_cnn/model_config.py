"""Keras model configuration, as Galaxy's keras_model_config: a layer list in, model JSON out.

A model JSON a user brings (``model.config_json``) may come from Keras 3 ``to_json()`` or
from Galaxy's Keras 2 tools (``keras_version`` 2.x, first layer with ``batch_input_shape``).
"""

import copy
import difflib
import inspect
import json
import math
from pathlib import Path

import keras

from mnist_cnn import InputError, keras_private


def _layer_class(position: int, name: str) -> type:
    cls = getattr(keras.layers, name, None)
    if not (inspect.isclass(cls) and issubclass(cls, keras.layers.Layer)):
        known = [n for n in dir(keras.layers) if inspect.isclass(getattr(keras.layers, n))]
        hint = difflib.get_close_matches(name, known, n=3)
        raise InputError(
            f"model.layers[{position}]: unknown Keras layer {name!r}"
            + (f"; did you mean {' or '.join(hint)}?" if hint else "; expected a class of keras.layers")
        )
    return cls


def accepted_arguments(cls: type) -> set[str]:
    """Keyword arguments of ``cls``, including those its **kwargs pass on to its base classes."""
    names = {"input_shape", "input_dim"} if issubclass(cls, keras.layers.Layer) else set()
    for klass in cls.__mro__:
        if klass is object:
            break
        names |= set(inspect.signature(klass.__init__).parameters) - {"self", "args", "kwargs"}
    return names


def check_arguments(where: str, cls: type, args: dict) -> None:
    """Name the first argument ``cls`` does not take, with the closest one it does."""
    accepted = accepted_arguments(cls)
    for arg in args:
        if arg not in accepted:
            hint = difflib.get_close_matches(arg, accepted, n=1)
            raise InputError(
                f"{where}: unknown argument {arg!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")
            )


def make_layer(position: int, name: str, args: dict) -> keras.layers.Layer:
    """One layer from its class name and arguments; errors name the position and the argument."""
    cls = _layer_class(position, name)
    check_arguments(f"model.layers[{position}] ({name})", cls, args)
    try:
        return cls(**args)
    except Exception as error:  # Keras raises ValueError, TypeError, KeyError... for bad values
        raise InputError(f"model.layers[{position}] ({name}) with arguments {args}: {error}") from None


def build_model(input_shape: list[int], layers: list[dict], name: str = "sequential") -> keras.Sequential:
    """A Sequential model from ``[{"type": "Conv2D", "args": {...}}, ...]``, built layer by layer."""
    model = keras.Sequential([keras.Input(shape=tuple(input_shape))], name=name)
    for position, spec in enumerate(layers):
        layer = make_layer(position, spec["type"], spec.get("args") or {})
        try:
            model.add(layer)
        except Exception as error:
            raise InputError(
                f"model.layers[{position}] ({spec['type']}) does not fit the output "
                f"of the layer before it: {error}"
            ) from None
    return model


def _keras2_to_keras3(config: dict) -> dict:
    """Move Keras 2's ``batch_input_shape`` into an InputLayer, which Keras 3 expects."""
    config = copy.deepcopy(config)
    layers = config["config"]["layers"] if isinstance(config["config"], dict) else config["config"]
    first = layers[0]["config"]
    if layers[0]["class_name"] == "InputLayer":
        first["batch_shape"] = first.pop("batch_input_shape")
    elif "batch_input_shape" in first:
        shape = first.pop("batch_input_shape")
        layers.insert(0, {"class_name": "InputLayer", "config": {"batch_shape": shape, "name": "input"}})
    for layer in layers[1:]:
        layer["config"].pop("batch_input_shape", None)
    if not isinstance(config["config"], dict):
        config["config"] = {"name": "sequential", "layers": layers}
    return config


# What in a model JSON carries Python code that loading would run: Lambda layers (Keras 2 writes
# their function as marshalled bytecode, Keras 3 as a __lambda__ object with its code), and a
# "module" outside Keras, which Keras would import. Refused whatever Keras' own safe mode does:
# older Keras versions, in a user's own environment, have none for the legacy loader.
CODE_CLASSES = ("Lambda", "TFOpLambda", "SlicingOpLambda", "__lambda__")
CODE_FIELDS = ("function", "function_type", "code", "output_shape_type", "output_shape_module")


def refuse_code(config, path: Path, where: str = "") -> None:
    """Raise InputError, naming the place, if the model JSON ``config`` holds code."""
    if isinstance(config, list):
        for position, value in enumerate(config):
            refuse_code(value, path, f"{where}[{position}]")
        return
    if not isinstance(config, dict):
        return
    module = config.get("module")
    fields = [key for key in CODE_FIELDS if config.get(key) is not None]
    if config.get("class_name") in CODE_CLASSES:
        found = f"{where or 'the model'} is a {config['class_name']}, whose Python code loading would run"
    elif fields:
        found = f"{where}.{fields[0]} holds a function, Python code that loading would run"
    elif isinstance(module, str) and module != "keras" and not module.startswith("keras."):
        found = f"{where or 'the model'} is an object of module {module!r}, which loading would import"
    else:
        for key, value in config.items():
            refuse_code(value, path, f"{where}.{key}" if where else key)
        return
    raise InputError(f"{path}: {found}: refused, a model JSON may hold only Keras layers without code")


def load_model_json(path: Path) -> keras.Model:
    """A model from a Keras 3 or Keras 2 JSON file; one holding code is refused before loading."""
    path = Path(path)
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: cannot be read as a Keras model JSON: {error}") from None
    refuse_code(config, path)
    try:
        if str(config.get("keras_version", "3")).startswith(("1.", "2.")):
            return keras_private.model_from_keras2_config(_keras2_to_keras3(config))
        return keras.models.model_from_json(json.dumps(config))
    except Exception as error:
        raise InputError(
            f"{path}: not a model JSON that Keras {keras.__version__} can load: {error}"
        ) from None


def check_input_features(model: keras.Model, n_features: int, source: str) -> None:
    """The model must take rows of ``n_features`` values, as the data has."""
    shape = model.input_shape[1:]
    if None in shape or math.prod(shape) != n_features:
        raise InputError(
            f"{source}: the model's input shape is {tuple(shape)}, "
            f"expected {n_features} values per image (model.input_shape in the config)"
        )
