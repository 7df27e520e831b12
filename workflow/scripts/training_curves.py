"""Rule training_curves: loss and accuracy per epoch, training part against holdout, from history.tsv."""

import logging

from mnist_cnn import rule

rule.start(snakemake)
import pandas as pd  # noqa: E402

from mnist_cnn.figures import plot_training_curves  # noqa: E402

history = pd.read_csv(snakemake.input[0], sep="\t")
logging.info(
    "history, %d epochs, validated on the %s:\n%s",
    len(history),
    snakemake.params.validation,
    history.to_string(index=False),
)
plot_training_curves(history, snakemake.output[0], snakemake.params.validation)
