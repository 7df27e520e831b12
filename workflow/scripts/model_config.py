"""Rule model_config: the Keras model JSON, from config.yaml's layers or a JSON the user brings."""

import logging
from pathlib import Path

from mnist_cnn import rule

rule.start(snakemake)
rule.keras_without_tensorflow(*rule.KERAS_EXTRAS)
from mnist_cnn.model_config import build_model, check_input_features, load_model_json  # noqa: E402

if snakemake.input:
    logging.info("model.config_json is set: the model is %s; model.layers is not used", snakemake.input[0])
    model, source = load_model_json(snakemake.input[0]), snakemake.input[0]
else:
    model, source = build_model(snakemake.params.input_shape, snakemake.params.layers), "model.input_shape"
check_input_features(model, snakemake.params.n_features, source)
model.summary(print_fn=lambda line, **kwargs: logging.info("%s", line))
Path(snakemake.output[0]).write_text(model.to_json(indent=2))
