"""Rule evaluation_figures: the evaluation's tables and figures for the report, beyond what
evaluate writes (the confusion matrix as SVG and by row, the per-class scores as bars, HTML tables)."""

import logging

from mnist_cnn import rule

rule.start(snakemake)
import pandas as pd  # noqa: E402

from mnist_cnn.evaluation import plot_confusion_matrix  # noqa: E402
from mnist_cnn.figures import plot_class_scores  # noqa: E402
from mnist_cnn.tables import write_html_table  # noqa: E402

table = pd.read_csv(snakemake.input.report, sep="\t", index_col=0)
confusion = pd.read_csv(snakemake.input.confusion_table, sep="\t", index_col=0)
plot_confusion_matrix(confusion, snakemake.output.confusion_matrix_svg)
plot_confusion_matrix(confusion, snakemake.output.confusion_normalised, normalise=True)
plot_class_scores(table, snakemake.output.class_scores)
write_html_table(table, snakemake.output.report_html, "Precision, recall and F1 per class on the test images")
write_html_table(
    confusion,
    snakemake.output.confusion_html,
    "Confusion matrix: true class (rows) by predicted class (columns)",
)
logging.info("wrote %s", ", ".join(snakemake.output))
