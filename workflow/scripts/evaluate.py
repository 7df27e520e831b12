"""Rule evaluate: the confusion matrix and per-class precision, recall and F1 on the test set, as
Galaxy's ml_visualization_ex and the tutorial show them (the report's other views: evaluation_figures)."""

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

_, y_true = load_split(snakemake.input.data)
y_pred = predicted_classes(pd.read_csv(snakemake.input.predictions, sep="\t"))
check_same_length(y_true, y_pred, snakemake.input.predictions)
table = report_table(y_true, y_pred, snakemake.params.num_classes)
logging.info("classification report:\n%s", table.to_string())
table.to_csv(snakemake.output.report, sep="\t", float_format="%.4f")
confusion = confusion_table(y_true, y_pred, snakemake.params.num_classes)
confusion.to_csv(snakemake.output.confusion_table, sep="\t")
plot_confusion_matrix(confusion, snakemake.output.confusion_matrix)
