"""Compile and fit parameters, as Galaxy's keras_model_builder: checked with Keras, written as JSON.

The JSON spells out every value that training will use, Keras' defaults included.
"""

import difflib
import inspect

import keras

from mnist_cnn import InputError

CALLBACKS = ("EarlyStopping", "ReduceLROnPlateau", "TerminateOnNaN")


def _instantiate(where: str, cls: type, args: dict):
    try:
        return cls(**args)
    except TypeError as error:
        accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "kwargs"}
        unknown = sorted(set(args) - accepted)
        if unknown:
            hint = difflib.get_close_matches(unknown[0], accepted, n=1)
            raise InputError(
                f"{where}: unknown argument {unknown[0]!r}"
                + (f"; did you mean {hint[0]!r}?" if hint else f"; expected one of {', '.join(sorted(accepted))}")
            ) from None
        raise InputError(f"{where}: {error}") from None
    except Exception as error:
        raise InputError(f"{where}: {error}") from None


def optimizer(spec: dict) -> keras.optimizers.Optimizer:
    name = spec["type"]
    cls = getattr(keras.optimizers, name, None)
    if not (inspect.isclass(cls) and issubclass(cls, keras.optimizers.Optimizer)) or name == "Optimizer":
        known = [n for n in dir(keras.optimizers) if n[0].isupper() and n not in ("Optimizer", "LossScaleOptimizer")]
        raise InputError(f"compile.optimizer.type: unknown Keras optimizer {name!r}; expected one of {', '.join(known)}")
    return _instantiate(f"compile.optimizer ({name})", cls, spec.get("args") or {})


def callback_config(position: int, spec: dict) -> dict:
    """A callback checked by making it, with every argument it will get (defaults too)."""
    name = spec["type"]
    if name not in CALLBACKS:
        raise InputError(f"fit.callbacks[{position}].type: {name!r} is not one of {', '.join(CALLBACKS)}")
    cls = getattr(keras.callbacks, name)
    args = spec.get("args") or {}
    _instantiate(f"fit.callbacks[{position}] ({name})", cls, args)
    bound = inspect.signature(cls).bind(**args)
    bound.apply_defaults()
    return {"type": name, "args": dict(bound.arguments)}


def _check_name(where: str, getter, name: str) -> None:
    try:
        getter(name)
    except (ValueError, TypeError) as error:
        raise InputError(f"{where}: {error}") from None


def builder_config(compile_settings: dict, fit: dict, random_seed: int) -> dict:
    """The JSON-ready description of how the model will be compiled and fitted."""
    _check_name("compile.loss", keras.losses.get, compile_settings["loss"])
    for position, metric in enumerate(compile_settings["metrics"]):
        if metric not in ("accuracy", "acc"):  # compile() resolves these by the loss
            _check_name(f"compile.metrics[{position}]", keras.metrics.get, metric)
    return {
        "compile": {
            "loss": compile_settings["loss"],
            "optimizer": keras.optimizers.serialize(optimizer(compile_settings["optimizer"])),
            "metrics": list(compile_settings["metrics"]),
        },
        "fit": {
            "epochs": fit["epochs"],
            "batch_size": fit["batch_size"],
            "validation_split": fit["validation_split"],
            "callbacks": [callback_config(i, spec) for i, spec in enumerate(fit["callbacks"])],
        },
        "random_seed": random_seed,
    }


def compile_model(model: keras.Model, builder: dict) -> None:
    settings = builder["compile"]
    model.compile(
        loss=settings["loss"],
        optimizer=keras.optimizers.deserialize(settings["optimizer"]),
        metrics=settings["metrics"],
    )


def make_callbacks(builder: dict) -> list[keras.callbacks.Callback]:
    return [getattr(keras.callbacks, spec["type"])(**spec["args"]) for spec in builder["fit"]["callbacks"]]
