"""Rule evaluate: confusion matrix (counts and by row) and per-class precision, recall and F1 on the test set."""

import logging

from mnist_cnn import rule

rule.start(snakemake)
import pandas as pd  # noqa: E402

from mnist_cnn.data import load_split  # noqa: E402
from mnist_cnn.evaluation import (  # noqa: E402
    check_same_length,
    confusion_table,
    plot_confusion_matrix,
    predicted_classes,
    report_table,
)
from mnist_cnn.figures import plot_class_scores  # noqa: E402
from mnist_cnn.tables import write_html_table  # noqa: E402

_, y_true = load_split(snakemake.input.data)
y_pred = predicted_classes(pd.read_csv(snakemake.input.predictions, sep="\t"))
check_same_length(y_true, y_pred, snakemake.input.predictions)
table = report_table(y_true, y_pred, snakemake.params.num_classes)
logging.info("classification report:\n%s", table.to_string())
table.to_csv(snakemake.output.report, sep="\t", float_format="%.4f")
confusion = confusion_table(y_true, y_pred, snakemake.params.num_classes)
confusion.to_csv(snakemake.output.confusion_table, sep="\t")
plot_confusion_matrix(confusion, snakemake.output.confusion_matrix, snakemake.output.confusion_matrix_svg)
plot_confusion_matrix(confusion, snakemake.output.confusion_normalised, normalise=True)
plot_class_scores(table, snakemake.output.class_scores)
write_html_table(table, snakemake.output.report_html, "Precision, recall and F1 per class on the test images")
write_html_table(
    confusion,
    snakemake.output.confusion_html,
    "Confusion matrix: true class (rows) by predicted class (columns)",
)
