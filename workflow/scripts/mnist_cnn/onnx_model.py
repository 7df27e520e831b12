"""The trained model as ONNX (results/model/model.onnx, rule export_onnx): what users deploy, and
what predict and apply_model run with onnxruntime, which starts in a fraction of the time that
TensorFlow takes to import.

The graph takes ``images`` (float32, unscaled 0..255 pixels, shaped as the Keras model's input)
and gives ``probabilities`` (a column per class). Its metadata ``keras_precision`` names the
precision the Keras model was trained in: the ONNX graph itself always computes in float32.
"""

import logging
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from mnist_cnn import InputError
from mnist_cnn.prediction import probability_table

INPUT, OUTPUT = "images", "probabilities"
PRECISION_KEY = "keras_precision"
COUNTER = re.compile(r"__\d+")


def export_onnx(model, model_json: str, policy: str, path) -> None:
    """Write ``model`` (trained in ``policy``, from ``model_json``) to ``path`` as ONNX, in float32.

    A mixed-precision model is exported from a float32 copy: Keras keeps its variables in float32
    anyway, and onnxruntime has no bfloat16 kernels for CPUs. tf2onnx numbers the constants it
    makes in an order that changes from one process to the next; ``canonical`` renames them, so
    that the same model gives the same bytes. Everything is written in a temporary folder beside
    ``path``, which is then renamed into place: a failed export leaves nothing behind.
    """
    import keras
    import onnx

    path = Path(path)
    if policy != "float32":
        float32_model = keras.models.model_from_json(model_json)
        float32_model.set_weights(model.get_weights())
        model = float32_model
    model.predict(np.zeros((1, *model.input_shape[1:]), np.float32), verbose=0)  # traced before export
    with tempfile.TemporaryDirectory(prefix=f"{path.name}.", suffix=".partial", dir=path.parent) as folder:
        exported, written = Path(folder) / "tf2onnx.onnx", Path(folder) / path.name
        try:
            model.export(exported, format="onnx", verbose=False)
            onnx.checker.check_model(exported)  # tf2onnx keeps the ops it cannot convert as they are
        except Exception as error:  # tf2onnx raises what its converters raise, the checker its own
            raise InputError(
                f"{path.name}: tf2onnx cannot convert this model ({type(error).__name__}: {error}); set "
                "onnx: false in the config to leave the ONNX export out (predict and apply_model then run Keras)"
            ) from error
        proto = canonical(onnx.load(exported))
        onnx.helper.set_model_props(proto, {PRECISION_KEY: policy})
        onnx.save(proto, written)
        onnx.checker.check_model(written)
        os.replace(written, path)


def canonical(proto):
    """The ONNX model with names and an order that do not depend on tf2onnx's counters.

    The graph's input and output become ``images`` and ``probabilities``, any batch dimension
    ``batch``. The constants tf2onnx makes (named with a ``__<n>`` counter, and shared between
    nodes under whichever name came first) become ``const_<k>`` in the order the nodes use them,
    and every initializer is listed in that order. Other names lose their counters (numbered in
    graph order where two would then clash).
    """
    graph = proto.graph
    renamed = {graph.input[0].name: INPUT, graph.output[0].name: OUTPUT}
    initializers = {initializer.name: initializer for initializer in graph.initializer}
    first_use = [name for node in graph.node for name in node.input if name in initializers]
    order = list(dict.fromkeys(first_use + list(initializers)))
    constants = [name for name in order if COUNTER.search(name)]
    renamed.update({name: f"const_{k}" for k, name in enumerate(constants, 1)})
    taken = set(renamed.values())

    def new_name(name: str) -> str:
        if name not in renamed:
            base = COUNTER.sub("", name)
            candidate, number = base, 1
            while candidate in taken:
                number += 1
                candidate = f"{base}_{number}"
            renamed[name] = candidate
            taken.add(candidate)
        return renamed[name]

    ordered = [initializers[name] for name in order]
    del graph.initializer[:]
    graph.initializer.extend(ordered)
    for initializer in graph.initializer:
        initializer.name = new_name(initializer.name)
    node_names = {}
    for node in graph.node:
        for index, name in enumerate(node.output):
            node.output[index] = new_name(name)
        base = COUNTER.sub("", node.name)
        node_names[base] = node_names.get(base, 0) + 1
        node.name = base if node_names[base] == 1 else f"{base}_{node_names[base]}"
    for node in graph.node:
        for index, name in enumerate(node.input):
            if name:
                node.input[index] = new_name(name)
    for value in (*graph.input, *graph.output, *graph.value_info):
        value.name = new_name(value.name)
        for dim in value.type.tensor_type.shape.dim:
            if dim.HasField("dim_param"):
                dim.dim_param = "batch"
    return proto


def onnx_session(path, threads: int):
    """An onnxruntime session of ``path`` on the CPU: ``threads`` threads per op, one op at a time
    (as TensorFlow in this workflow), so that the same model gives the same bits."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only
    logging.info("onnxruntime threads: %d intra-op, 1 inter-op", threads)
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def trained_precision(session) -> str:
    """The precision the Keras model of this ONNX session was trained in."""
    return session.get_modelmeta().custom_metadata_map.get(PRECISION_KEY, "float32")


def onnx_probabilities(session, images: np.ndarray, batch_size: int) -> pd.DataFrame:
    """As ``prediction.class_probabilities``, through onnxruntime: ``batch_size`` images at a time."""
    shape = session.get_inputs()[0].shape[1:]
    rows = images.reshape(len(images), *shape)
    probabilities = np.concatenate(
        [
            session.run([OUTPUT], {INPUT: rows[start : start + batch_size].astype(np.float32)})[0]
            for start in range(0, len(rows), batch_size)
        ]
    )
    return probability_table(probabilities)
