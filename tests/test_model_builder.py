"""model_builder: compile and fit parameters checked with Keras and written out in full."""

import json
from pathlib import Path

import pytest
import yaml

from mnist_cnn import InputError
from mnist_cnn.model_builder import builder_config, make_callbacks

REPO = Path(__file__).resolve().parents[1]


def settings(name="config.yaml"):
    config = yaml.safe_load((REPO / name).read_text())
    return config["compile"], config["fit"], config["random_seed"]


def test_tutorial_settings_are_spelled_out():
    builder = builder_config(*settings())
    json.dumps(builder)  # JSON-ready
    optimizer = builder["compile"]["optimizer"]
    assert optimizer["type"] == "Adam"
    assert {k: optimizer["args"][k] for k in ("learning_rate", "beta_1", "beta_2", "epsilon", "amsgrad")} == {
        "learning_rate": 0.001,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "epsilon": 1e-07,
        "amsgrad": False,
    }
    assert builder["compile"]["loss"] == "categorical_crossentropy"
    assert builder["compile"]["metrics"] == ["accuracy"]
    assert builder["fit"] == {"epochs": 2, "batch_size": 500, "validation_split": 0.0, "callbacks": []}
    assert builder["random_seed"] == 0


def test_other_optimizers_by_name():
    compile_settings, fit, seed = settings()
    compile_settings["optimizer"] = {
        "type": "SGD",
        "args": {"learning_rate": 0.01, "momentum": 0.9, "nesterov": True},
    }
    optimizer = builder_config(compile_settings, fit, seed)["compile"]["optimizer"]
    assert optimizer["type"] == "SGD" and optimizer["args"]["nesterov"] is True


@pytest.mark.parametrize(
    ("optimizer", "message"),
    [
        (
            {"type": "Adamm"},
            "compile.optimizer.type: unknown Keras optimizer 'Adamm'; expected one of .*Adam",
        ),
        (
            {"type": "Adam", "args": {"beta1": 0.9}},
            r"compile.optimizer \(Adam\): unknown argument 'beta1'; did you mean 'beta_1'",
        ),
    ],
)
def test_bad_optimizer_is_named(optimizer, message):
    compile_settings, fit, seed = settings()
    compile_settings["optimizer"] = optimizer
    with pytest.raises(InputError, match=message):
        builder_config(compile_settings, fit, seed)


def test_bad_loss_and_metric_are_named():
    compile_settings, fit, seed = settings()
    with pytest.raises(InputError, match="compile.loss: .*categorical_crosentropy"):
        builder_config({**compile_settings, "loss": "categorical_crosentropy"}, fit, seed)
    with pytest.raises(InputError, match=r"compile.metrics\[1\]: .*precison"):
        builder_config({**compile_settings, "metrics": ["accuracy", "precison"]}, fit, seed)


def test_callbacks_get_every_argument_and_can_be_made():
    compile_settings, fit, seed = settings()
    fit["callbacks"] = [
        {"type": "EarlyStopping", "args": {"monitor": "val_loss", "patience": 2}},
        {"type": "ReduceLROnPlateau", "args": {"factor": 0.5}},
        {"type": "TerminateOnNaN"},
    ]
    builder = builder_config(compile_settings, fit, seed)
    early = builder["fit"]["callbacks"][0]
    assert early["args"]["patience"] == 2 and early["args"]["restore_best_weights"] is False
    assert [type(c).__name__ for c in make_callbacks(json.loads(json.dumps(builder)))] == [
        "EarlyStopping",
        "ReduceLROnPlateau",
        "TerminateOnNaN",
    ]


def test_bad_callback_argument_is_named():
    compile_settings, fit, seed = settings()
    fit["callbacks"] = [{"type": "EarlyStopping", "args": {"patiense": 2}}]
    with pytest.raises(
        InputError,
        match=r"fit.callbacks\[0\] \(EarlyStopping\): unknown argument 'patiense'; did you mean 'patience'",
    ):
        builder_config(compile_settings, fit, seed)
