"""Rule roc_pr: ROC and precision-recall curves of each class, and their AUC per class."""

import logging

from mnist_cnn import rule

rule.start(snakemake)
import pandas as pd  # noqa: E402

from mnist_cnn.data import load_split  # noqa: E402
from mnist_cnn.evaluation import check_same_length  # noqa: E402
from mnist_cnn.figures import auc_table, plot_precision_recall_curves, plot_roc_curves  # noqa: E402
from mnist_cnn.tables import write_html_table  # noqa: E402

_, labels = load_split(snakemake.input.data)
probabilities = pd.read_csv(snakemake.input.probabilities, sep="\t").to_numpy()
check_same_length(labels, probabilities, snakemake.input.probabilities)
table = auc_table(labels, probabilities)
logging.info("AUC per class:\n%s", table.to_string())
table.to_csv(snakemake.output.table, sep="\t", float_format="%.6f")
write_html_table(table, snakemake.output.html, "ROC AUC and average precision of each class against the rest")
plot_roc_curves(labels, probabilities, snakemake.output.roc)
plot_precision_recall_curves(labels, probabilities, snakemake.output.pr)
