"""Rule predict: the trained model applied to X_test, as Galaxy's model_prediction writes it,
and every class's probability, which the report's figures read.

With the ONNX export (config onnx), onnxruntime runs model.onnx, and TensorFlow is not imported;
a model trained in mixed precision is still run by Keras, so that its predictions are its own
(``prediction.model_output``, which apply_model runs the model with as well).
"""

import logging
import time

from mnist_cnn import rule

rule.start(snakemake)
rule.keras_on(snakemake.params.backend, snakemake.threads, *rule.KERAS_EXTRAS)
from mnist_cnn.data import load_split  # noqa: E402
from mnist_cnn.prediction import as_method, model_output, write_predictions  # noqa: E402

images, _ = load_split(snakemake.input.data)
output = model_output(
    snakemake.input.model, snakemake.input.get("onnx"), snakemake.params.n_features, snakemake.threads
)
started = time.perf_counter()
probabilities = output.probabilities(images, snakemake.params.batch_size)
seconds = time.perf_counter() - started
logging.info(
    "predicted %d images in %.2f s with %s: %.0f images/s",
    len(images),
    seconds,
    output.runtime,
    len(images) / seconds,
)
write_predictions(as_method(probabilities, snakemake.params.method), snakemake.output.predictions)
write_predictions(probabilities, snakemake.output.probabilities)
