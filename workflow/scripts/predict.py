"""Rule predict: the trained model applied to X_test, as Galaxy's model_prediction writes it,
and every class's probability, which the report's figures read.

With the ONNX export (config onnx), onnxruntime runs model.onnx, and TensorFlow is not imported;
a model trained in mixed precision is still run by Keras, so that its predictions are its own.
"""

import logging
import time

from mnist_cnn import rule

rule.start(snakemake)
from mnist_cnn.data import load_split  # noqa: E402
from mnist_cnn.prediction import as_method, write_predictions  # noqa: E402

images, _ = load_split(snakemake.input.data)
session = None
if "onnx" in snakemake.input.keys():
    from mnist_cnn.onnx_model import onnx_probabilities, onnx_session, trained_precision

    session = onnx_session(snakemake.input.onnx, snakemake.threads)
    if (precision := trained_precision(session)) != "float32":
        logging.info("trained in %s: predicting with Keras, not with model.onnx (float32)", precision)
        session = None
if session is not None:
    started = time.perf_counter()
    probabilities = onnx_probabilities(session, images, snakemake.params.batch_size)
    runtime = f"onnxruntime ({snakemake.input.onnx})"
else:
    rule.without_modules(*rule.KERAS_EXTRAS)
    import keras

    from mnist_cnn.prediction import class_probabilities
    from mnist_cnn.tensorflow_runtime import set_up_tensorflow

    set_up_tensorflow(snakemake.threads)
    model = keras.models.load_model(snakemake.input.model)
    started = time.perf_counter()
    probabilities = class_probabilities(model, images, snakemake.params.batch_size)
    runtime = f"Keras ({snakemake.input.model})"
seconds = time.perf_counter() - started
logging.info(
    "predicted %d images in %.2f s with %s: %.0f images/s",
    len(images),
    seconds,
    runtime,
    len(images) / seconds,
)
write_predictions(as_method(probabilities, snakemake.params.method), snakemake.output.predictions)
write_predictions(probabilities, snakemake.output.probabilities)
