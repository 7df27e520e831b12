"""Rule evaluation_figures: the evaluation's tables and figures for the report, beyond what
evaluate writes: the confusion matrix as SVG and by row, the per-class scores as bars, HTML
tables, the misclassified test digits (the most confident mistakes first), and the ROC and
precision-recall curves of each class with their AUC."""

import logging

from mnist_cnn import rule

rule.start(snakemake)
import pandas as pd  # noqa: E402

from mnist_cnn.data import load_split  # noqa: E402
from mnist_cnn.evaluation import (  # noqa: E402
    auc_table,
    check_same_length,
    plot_confusion_matrix,
    plot_precision_recall_curves,
    plot_roc_curves,
)
from mnist_cnn.figures import misclassified_table, plot_class_scores, plot_misclassified  # noqa: E402
from mnist_cnn.tables import write_html_table  # noqa: E402

output = snakemake.output
table = pd.read_csv(snakemake.input.report, sep="\t", index_col=0)
confusion = pd.read_csv(snakemake.input.confusion_table, sep="\t", index_col=0)
plot_confusion_matrix(confusion, output.confusion_matrix_svg)
plot_confusion_matrix(confusion, output.confusion_normalised, normalise=True)
plot_class_scores(table, output.class_scores)
write_html_table(table, output.report_html, "Precision, recall and F1 per class on the test images")
write_html_table(
    confusion, output.confusion_html, "Confusion matrix: true class (rows) by predicted class (columns)"
)

images, labels = load_split(snakemake.input.data)
probabilities = pd.read_csv(snakemake.input.probabilities, sep="\t").to_numpy()
check_same_length(labels, probabilities, snakemake.input.probabilities)
mistakes = misclassified_table(labels, probabilities)
logging.info("%d of %d test images misclassified", len(mistakes), len(labels))
mistakes.to_csv(output.misclassified_table, sep="\t", index=False, float_format="%.6g")
plot_misclassified(images, mistakes, len(labels), output.misclassified, snakemake.params.input_shape)

auc = auc_table(labels, probabilities)
logging.info("AUC per class:\n%s", auc.to_string())
auc.to_csv(output.auc_table, sep="\t", float_format="%.6f")
write_html_table(auc, output.auc_html, "ROC AUC and average precision of each class against the rest")
plot_roc_curves(labels, probabilities, output.roc)
plot_precision_recall_curves(labels, probabilities, output.pr)
logging.info("wrote %s", ", ".join(output))
