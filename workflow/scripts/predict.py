"""Rule predict: the trained model applied to X_test, as Galaxy's model_prediction writes it,
and every class's probability, which the report's figures read."""

import logging
import time

from mnist_cnn import rule

rule.start(snakemake)
rule.without_modules(*rule.KERAS_EXTRAS)
import keras  # noqa: E402

from mnist_cnn.data import load_split  # noqa: E402
from mnist_cnn.prediction import as_method, class_probabilities, write_predictions  # noqa: E402
from mnist_cnn.tensorflow_runtime import set_up_tensorflow  # noqa: E402

set_up_tensorflow(snakemake.threads)
images, _ = load_split(snakemake.input.data)
model = keras.models.load_model(snakemake.input.model)
started = time.perf_counter()
probabilities = class_probabilities(model, images, snakemake.params.batch_size)
seconds = time.perf_counter() - started
logging.info("predicted %d images in %.2f s: %.0f images/s", len(images), seconds, len(images) / seconds)
write_predictions(as_method(probabilities, snakemake.params.method), snakemake.output.predictions)
write_predictions(probabilities, snakemake.output.probabilities)
