"""Rule predict: the trained model applied to X_test, as Galaxy's model_prediction writes it."""

import logging
import time

from mnist_cnn import rule

rule.start(snakemake)
import keras  # noqa: E402

from mnist_cnn.data import load_split  # noqa: E402
from mnist_cnn.prediction import predict, write_predictions  # noqa: E402
from mnist_cnn.training import set_up_tensorflow  # noqa: E402

set_up_tensorflow(snakemake.threads)

images, _ = load_split(snakemake.input.data)
model = keras.models.load_model(snakemake.input.model)
started = time.perf_counter()
predictions = predict(model, images, snakemake.params.method, snakemake.params.batch_size)
seconds = time.perf_counter() - started
logging.info("predicted %d images in %.2f s: %.0f images/s", len(images), seconds, len(images) / seconds)
write_predictions(predictions, snakemake.output[0])
