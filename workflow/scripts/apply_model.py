"""Rule apply_model: the trained model applied to your own digits and tables (config key apply),
run as predict runs it (``prediction.model_output``: onnxruntime on the run's ONNX export, or Keras)."""

import logging

from mnist_cnn import rule

rule.start(snakemake)
rule.keras_on(snakemake.params.backend, snakemake.threads, *rule.KERAS_EXTRAS)
from mnist_cnn.data import read_pixels  # noqa: E402
from mnist_cnn.prediction import applied_predictions, model_output, write_predictions  # noqa: E402

# Everything is read and checked before anything is written.
output = model_output(
    snakemake.input.model, snakemake.input.get("onnx"), snakemake.params.n_features, snakemake.threads
)
inputs = [(path, read_pixels(path, snakemake.params.n_features)) for path in snakemake.input.digits]
inputs += [(path, read_pixels(path, snakemake.params.n_features)) for path in snakemake.input.tables]
outputs = [
    *([snakemake.output.images] if snakemake.input.digits else []),
    *snakemake.output.get("tables", []),
]
logging.info("running the model with %s", output.runtime)
for (path, images), destination in zip(inputs, outputs, strict=True):
    probabilities = output.probabilities(images, snakemake.params.batch_size)
    names = snakemake.params.image_names if path in snakemake.input.digits else None
    write_predictions(applied_predictions(probabilities, names), destination)
    logging.info("%s: %d rows, predictions in %s", path, len(images), destination)
