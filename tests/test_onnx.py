"""The ONNX export (results/model/model.onnx, rule export_onnx): onnxruntime predicts what Keras
predicts, the same model gives the same bytes in every process, a failed export leaves nothing, and
switching it on exports the trained model without training it again."""

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import onnx
import pandas as pd
import pytest
import tensorflow as tf
from onnx import TensorProto, helper
from test_apply import SAMPLE, assert_test_set_applied_as_predicted, jobs_run
from test_training import HOLDOUT, builder, fast_json, tutorial_json
from workflow_runner import run_snakemake

from mnist_cnn import InputError
from mnist_cnn.data import read_split
from mnist_cnn.onnx_model import canonical, export_onnx, onnx_probabilities, onnx_session, trained_precision
from mnist_cnn.prediction import predict, write_predictions
from mnist_cnn.training import train

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def train_split(tsv_dir):
    return read_split(tsv_dir / "X_train.tsv", tsv_dir / "y_train.tsv", 784, 10)


@pytest.fixture(scope="module")
def tutorial_model(train_split):
    model_json = tutorial_json()
    model, _, _ = train(model_json, builder(epochs=1, batch_size=100), *train_split, HOLDOUT, 10)
    return model, model_json


def test_onnx_predicts_the_class_keras_predicts_for_every_test_image(tutorial_model, mnist_test, tmp_path):
    model, model_json = tutorial_model
    export_onnx(model, model_json, "float32", tmp_path / "model.onnx")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.onnx"]  # nothing else left
    session = onnx_session(tmp_path / "model.onnx", threads=2)
    (images_input,), (output,) = session.get_inputs(), session.get_outputs()
    assert (images_input.name, images_input.shape, images_input.type) == (
        "images",
        ["batch", 784],
        "tensor(float)",
    )
    assert (output.name, output.shape) == ("probabilities", ["batch", 10])
    assert trained_precision(session) == "float32"

    images = mnist_test[0]  # all 1,000; batches of 300 leave a last one of 100
    from_onnx = onnx_probabilities(session, images, batch_size=300)
    from_keras = predict(model, images, "predict_proba", 500)
    assert from_onnx.columns.tolist() == from_keras.columns.tolist() == [str(c) for c in range(10)]
    np.testing.assert_array_equal(from_onnx.to_numpy().argmax(axis=1), from_keras.to_numpy().argmax(axis=1))
    np.testing.assert_allclose(from_onnx.to_numpy(), from_keras.to_numpy(), rtol=0, atol=1e-5)


def test_probabilities_are_written_with_every_digit_of_their_float32(tutorial_model, mnist_test, tmp_path):
    """Six significant digits wrote 0.99999962 as 1 and tied the most confident predictions."""
    model, _ = tutorial_model
    probabilities = predict(model, mnist_test[0], "predict_proba", 500)
    assert probabilities.dtypes.eq(np.float32).all()
    probabilities.loc[len(probabilities)] = np.float32([0.99999962, 3.8e-7, *[1e-30] * 7, 0.0])
    write_predictions(probabilities, tmp_path / "probabilities.tsv")
    read_back = pd.read_csv(tmp_path / "probabilities.tsv", sep="\t").to_numpy().astype(np.float32)
    np.testing.assert_array_equal(read_back, probabilities.to_numpy())
    assert read_back[-1, 0] == np.float32(0.99999962) < 1


def test_a_failed_export_leaves_nothing_behind(tmp_path):
    """tf2onnx writes a model with the TensorFlow ops it cannot convert as they are; the checker
    refuses it. Neither tf2onnx's file nor a model.onnx may be left."""
    images = keras.Input((784,))
    unconvertible = keras.layers.Lambda(tf.math.bessel_i0e)(images)  # no ONNX op for BesselI0e
    model = keras.Model(images, keras.layers.Dense(10, activation="softmax")(unconvertible))
    with pytest.raises(InputError, match=r"^model\.onnx: tf2onnx cannot convert this model .*BesselI0e"):
        export_onnx(model, model.to_json(), "float32", tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


EXPORT_IN_A_NEW_PROCESS = """
import sys
sys.path.insert(0, "workflow/scripts")
import keras
from mnist_cnn.onnx_model import export_onnx
model = keras.models.load_model(sys.argv[1])
export_onnx(model, model.to_json(), "float32", sys.argv[2])
"""


def test_the_same_model_gives_the_same_bytes_in_every_process(tutorial_model, tmp_path):
    """tf2onnx numbers its constants in an order that changes from one process to the next."""
    model, _ = tutorial_model
    model.save(tmp_path / "model.keras")
    for name in ("first.onnx", "second.onnx"):
        command = [
            sys.executable,
            "-c",
            EXPORT_IN_A_NEW_PROCESS,
            str(tmp_path / "model.keras"),
            str(tmp_path / name),
        ]
        subprocess.run(command, cwd=REPO, capture_output=True, check=True)
    assert (tmp_path / "first.onnx").read_bytes() == (tmp_path / "second.onnx").read_bytes()


def tf2onnx_like_graph(constant_names: tuple[str, str], batch: str):
    """A graph as tf2onnx writes it: counters in the constants' names, which may come in any order."""
    shape = helper.make_tensor("shape__58", TensorProto.INT64, [2], [-1, 784])
    constants = {
        name: helper.make_tensor(name, TensorProto.FLOAT, [1], [value])
        for name, value in zip(constant_names, (2.0, 3.0), strict=True)
    }
    nodes = [
        helper.make_node("Reshape", ["input_layer", "shape__58"], ["Reshape__1:0"], name="Reshape__1"),
        helper.make_node("Mul", ["Reshape__1:0", constant_names[0]], ["Mul:0"], name="Mul"),
        helper.make_node("Add", ["Mul:0", constant_names[1]], ["Identity:0"], name="Add__7"),
    ]
    graph = helper.make_graph(
        nodes,
        "tf2onnx",
        [helper.make_tensor_value_info("input_layer", TensorProto.FLOAT, [batch, 784])],
        [helper.make_tensor_value_info("Identity:0", TensorProto.FLOAT, [batch, 784])],
        # listed in another order than the nodes use them
        [constants[constant_names[1]], shape, constants[constant_names[0]]],
    )
    return helper.make_model(graph)


def test_canonical_names_do_not_depend_on_the_counters():
    first = canonical(tf2onnx_like_graph(("const_axes__12", "Const__56"), "unk__64"))
    second = canonical(tf2onnx_like_graph(("const_starts__40", "Const__11"), "unk__65"))
    assert first.SerializeToString() == second.SerializeToString()
    graph = first.graph
    assert [initializer.name for initializer in graph.initializer] == ["const_1", "const_2", "const_3"]
    assert [node.name for node in graph.node] == ["Reshape", "Mul", "Add"]
    assert graph.node[-1].output[0] == "probabilities" and graph.input[0].name == "images"
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    onnx.checker.check_model(first)


def test_a_mixed_precision_model_is_exported_in_float32(train_split, mnist_test, tmp_path):
    """onnxruntime has no bfloat16 kernels for CPUs: the export computes in float32, and says how
    the model was trained, so that predict runs such a model with Keras."""
    model_json = fast_json()
    model, _, _ = train(
        model_json, builder("mixed_bfloat16", epochs=1, batch_size=100), *train_split, HOLDOUT, 10
    )
    export_onnx(model, model_json, "mixed_bfloat16", tmp_path / "model.onnx")
    session = onnx_session(tmp_path / "model.onnx", threads=2)
    assert trained_precision(session) == "mixed_bfloat16"
    images = mnist_test[0][:500]
    float32_copy = keras.models.model_from_json(model_json)
    float32_copy.set_weights(model.get_weights())
    np.testing.assert_allclose(
        onnx_probabilities(session, images, 500).to_numpy(),
        predict(float32_copy, images, "predict_proba", 500).to_numpy(),
        rtol=0,
        atol=1e-5,
    )


# --- in the workflow: rule export_onnx ----------------------------------------------------------

DENSE = [
    {"type": "Dense", "args": {"units": 16, "activation": "relu"}},
    {"type": "Dense", "args": {"units": 10, "activation": "softmax"}},
]


@pytest.fixture(scope="module")
def switched_on(tmp_path_factory):
    """A run on the sample without the ONNX export, of a small model trained in mixed precision,
    the sample's test set also applied as a table; then the same run with the export."""
    workdir = tmp_path_factory.mktemp("switched_on")
    config = {
        "data": {"dir": str(SAMPLE)},
        "fit": {"epochs": 1, "batch_size": 100},
        "model": {"layers": DENSE},
        "precision": "mixed_bfloat16",
        "apply": {"tables": [str(SAMPLE / "X_test.tsv.gz")]},
        "onnx": False,
    }
    targets = ("results/probabilities.tsv", "apply")
    without = run_snakemake(workdir, config, *targets)
    assert without.returncode == 0, without.output
    trained = (workdir / "results" / "model" / "model.keras").read_bytes()
    with_onnx = run_snakemake(workdir, {**config, "onnx": True}, *targets)
    assert with_onnx.returncode == 0, with_onnx.output
    assert (workdir / "results" / "model" / "model.keras").read_bytes() == trained
    return workdir, without, with_onnx


def test_switching_the_export_on_does_not_train_again(switched_on):
    workdir, without, with_onnx = switched_on
    assert "train" in jobs_run(without.output) and "export_onnx" not in jobs_run(without.output)
    # the model is there: exported, then run again by the rules that run it
    assert jobs_run(with_onnx.output) == {"export_onnx", "predict", "apply_model", "apply"}
    session = onnx_session(workdir / "results" / "model" / "model.onnx", threads=1)
    assert trained_precision(session) == "mixed_bfloat16"
    assert sorted(path.name for path in (workdir / "results" / "model").iterdir()) == [
        "history.tsv",
        "model.keras",
        "model.onnx",
        "model_builder.json",
        "model_config.json",
        "train_machine.yaml",
        "train_metrics.tsv",
        "weights.h5",
    ]


def test_a_mixed_precision_model_is_run_by_keras_in_predict_and_apply(switched_on):
    """The export computes in float32, the model did not: both rules run the model itself, alike."""
    workdir, _, _ = switched_on
    for rule in ("predict", "apply_model"):
        log = (workdir / "logs" / f"{rule}.log").read_text()
        assert "trained in mixed_bfloat16: running it with Keras, not model.onnx (float32)" in log, rule
        assert "with Keras on tensorflow (results/model/model.keras)" in log, rule
    assert_test_set_applied_as_predicted(workdir / "results")
