"""Rule apply_model: the trained model applied to your own digits and tables (config key apply)."""

import logging

from mnist_cnn import rule

rule.start(snakemake)
rule.without_modules(*rule.KERAS_EXTRAS)
from mnist_cnn.data import read_pixels  # noqa: E402
from mnist_cnn.prediction import (  # noqa: E402
    applied_predictions,
    class_probabilities,
    load_trained_model,
    write_predictions,
)
from mnist_cnn.tensorflow_runtime import set_up_tensorflow  # noqa: E402

set_up_tensorflow(snakemake.threads)
# Everything is read and checked before anything is written.
model = load_trained_model(snakemake.input.model, snakemake.params.n_features)
inputs = [(path, read_pixels(path, snakemake.params.n_features)) for path in snakemake.input.digits]
inputs += [(path, read_pixels(path, snakemake.params.n_features)) for path in snakemake.input.tables]
outputs = [
    *([snakemake.output.images] if snakemake.input.digits else []),
    *snakemake.output.get("tables", []),
]
for (path, images), output in zip(inputs, outputs, strict=True):
    probabilities = class_probabilities(model, images, snakemake.params.batch_size)
    names = snakemake.params.image_names if path in snakemake.input.digits else None
    write_predictions(applied_predictions(probabilities, names), output)
    logging.info("%s: %d rows, predictions in %s", path, len(images), output)
