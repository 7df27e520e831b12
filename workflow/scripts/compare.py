"""Rule compare: the experiments (or the replicates) side by side, as comparison.tsv and .png,
the training times in timings.tsv (and, with apply.images, the share of your images that all
runs read as the same digit, applied_agreement); with replicates, each replicate's row in replicates.tsv and,
with two or more experiments, their differences in differences.tsv (paired or Welch t-test)."""

import logging

import pandas as pd

from mnist_cnn import rule

rule.start(snakemake)
from mnist_cnn.comparison import (  # noqa: E402
    TIMING_COLUMNS,
    comparison_table,
    differences_table,
    experiment_row,
    four_digits,
    has_replicates,
    plot_comparison,
    plot_replicates,
    replicate_table,
    timings_table,
)

files = snakemake.input
rows = [
    {**run, **experiment_row(run["experiment"], *paths)}
    for run, *paths in zip(
        snakemake.params.runs,
        files.metrics,
        files.report,
        files.history,
        files.weights,
        files.benchmark,
        strict=True,
    )
]
replicates = replicate_table(rows)
table = comparison_table(replicates)
if files.agreement:
    table["applied_agreement"] = pd.read_csv(files.agreement[0], sep="\t")["agree"].mean()
logging.info("comparison:\n%s", table.to_string())
table.to_csv(snakemake.output.table, sep="\t", float_format=four_digits)
timings_table(replicates).to_csv(snakemake.output.timings, sep="\t", float_format=four_digits)
if has_replicates(replicates):
    columns = [column for column in replicates.columns if column not in TIMING_COLUMNS]
    replicates[columns].to_csv(snakemake.output.replicates, sep="\t", float_format=four_digits)
    plot_replicates(replicates, table, snakemake.output.figure)
else:
    plot_comparison(table, snakemake.output.figure)
if hasattr(snakemake.output, "differences"):
    differences = differences_table(replicates)
    logging.info("differences (paired or Welch t-test, column test):\n%s", differences.to_string())
    differences.to_csv(snakemake.output.differences, sep="\t", float_format=four_digits)
