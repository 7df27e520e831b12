"""Rule misclassified: the wrongly predicted test digits, the most confident mistakes first."""

import logging

from mnist_cnn import rule

rule.start(snakemake)
import pandas as pd  # noqa: E402

from mnist_cnn.data import load_split  # noqa: E402
from mnist_cnn.evaluation import check_same_length  # noqa: E402
from mnist_cnn.figures import misclassified_table, plot_misclassified  # noqa: E402

images, labels = load_split(snakemake.input.data)
probabilities = pd.read_csv(snakemake.input.probabilities, sep="\t").to_numpy()
check_same_length(labels, probabilities, snakemake.input.probabilities)
mistakes = misclassified_table(labels, probabilities)
logging.info("%d of %d test images misclassified", len(mistakes), len(labels))
mistakes.to_csv(snakemake.output.table, sep="\t", index=False, float_format="%.6g")
plot_misclassified(images, mistakes, len(labels), snakemake.output.figure, snakemake.params.input_shape)
