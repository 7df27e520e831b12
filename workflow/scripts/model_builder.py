"""Rule model_builder: the compile and fit parameters, checked with Keras, as readable JSON."""

import json
import logging
from pathlib import Path

from mnist_cnn import rule

rule.start(snakemake)
rule.keras_without_tensorflow(*rule.KERAS_EXTRAS)
from mnist_cnn.model_builder import builder_config  # noqa: E402

builder = builder_config(
    snakemake.params.compile, snakemake.params.fit, snakemake.params.random_seed, snakemake.params.precision
)
logging.info("%s", json.dumps(builder))
Path(snakemake.output[0]).write_text(json.dumps(builder, indent=2) + "\n")
