"""Compile and fit parameters, as Galaxy's keras_model_builder: checked with Keras, written as JSON.

The JSON spells out every value that training will use, Keras' defaults included.
"""

import inspect

import keras

from mnist_cnn import InputError
from mnist_cnn.model_config import check_arguments

CALLBACKS = ("EarlyStopping", "ReduceLROnPlateau", "TerminateOnNaN")


def _checked_args(where: str, cls: type, args: dict) -> dict:
    """Make ``cls(**args)`` to check the arguments; return them with every default filled in."""
    check_arguments(where, cls, args)
    try:
        cls(**args)
    except Exception as error:
        raise InputError(f"{where}: {error}") from None
    bound = inspect.signature(cls).bind_partial(**args)
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    arguments.update(arguments.pop("kwargs", {}))  # those passed on to a base class
    return arguments


def optimizer_config(spec: dict) -> dict:
    name = spec["type"]
    cls = getattr(keras.optimizers, name, None)
    if not (inspect.isclass(cls) and issubclass(cls, keras.optimizers.Optimizer)) or name == "Optimizer":
        known = [
            n
            for n in dir(keras.optimizers)
            if n[0].isupper() and n not in ("Optimizer", "LossScaleOptimizer")
        ]
        raise InputError(
            f"compile.optimizer.type: unknown Keras optimizer {name!r}; expected one of {', '.join(known)}"
        )
    return {"type": name, "args": _checked_args(f"compile.optimizer ({name})", cls, spec.get("args") or {})}


def callback_config(position: int, spec: dict) -> dict:
    name = spec["type"]
    if name not in CALLBACKS:
        raise InputError(f"fit.callbacks[{position}].type: {name!r} is not one of {', '.join(CALLBACKS)}")
    cls = getattr(keras.callbacks, name)
    return {
        "type": name,
        "args": _checked_args(f"fit.callbacks[{position}] ({name})", cls, spec.get("args") or {}),
    }


def _check_name(where: str, getter, name: str) -> None:
    try:
        getter(name)
    except (ValueError, TypeError) as error:
        raise InputError(f"{where}: {error}") from None


def builder_config(compile_settings: dict, fit: dict, random_seed: int, precision: str = "float32") -> dict:
    """The JSON-ready description of how the model will be compiled and fitted."""
    _check_name("compile.loss", keras.losses.get, compile_settings["loss"])
    for position, metric in enumerate(compile_settings["metrics"]):
        if metric not in ("accuracy", "acc"):  # compile() resolves these by the loss
            _check_name(f"compile.metrics[{position}]", keras.metrics.get, metric)
    return {
        "compile": {
            "loss": compile_settings["loss"],
            "optimizer": optimizer_config(compile_settings["optimizer"]),
            "metrics": list(compile_settings["metrics"]),
        },
        "fit": {
            "epochs": fit["epochs"],
            "batch_size": fit["batch_size"],
            "validation_split": fit["validation_split"],
            "callbacks": [callback_config(i, spec) for i, spec in enumerate(fit["callbacks"])],
        },
        "random_seed": random_seed,
        "precision": precision,
    }


def compile_model(model: keras.Model, builder: dict, loss_scale: bool = False) -> None:
    """Compile as ``builder`` says; ``loss_scale``: with dynamic loss scaling, which float16 needs."""
    settings = builder["compile"]
    optimizer = getattr(keras.optimizers, settings["optimizer"]["type"])(**settings["optimizer"]["args"])
    if loss_scale:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(loss=settings["loss"], optimizer=optimizer, metrics=settings["metrics"])


def make_callbacks(builder: dict) -> list[keras.callbacks.Callback]:
    return [getattr(keras.callbacks, spec["type"])(**spec["args"]) for spec in builder["fit"]["callbacks"]]
