"""Rule evaluation_figures: the evaluation's tables and figures for the report, beyond what
evaluate writes: the confusion matrix as SVG and by row, the per-class scores as bars, HTML
tables, the misclassified test digits (the most confident mistakes first), and the ROC and
precision-recall curves of each class with their AUC. Each output is written by its entry in
mnist_cnn.evaluation.EVALUATION_FIGURES."""

from mnist_cnn import rule

rule.start(snakemake)
from mnist_cnn.evaluation import EvaluatedRun, write_evaluation_figures  # noqa: E402

run = EvaluatedRun(
    snakemake.input.report,
    snakemake.input.confusion_table,
    snakemake.input.probabilities,
    snakemake.input.data,
    snakemake.params.input_shape,
)
write_evaluation_figures(run, dict(snakemake.output.items()))
