"""Rule compare: the experiments side by side, as comparison.tsv and comparison.png."""

import logging

from mnist_cnn import rule

rule.start(snakemake)
from mnist_cnn.comparison import comparison_table, experiment_row, plot_comparison  # noqa: E402

files = snakemake.input
rows = [
    experiment_row(name, *paths)
    for name, *paths in zip(
        snakemake.params.names,
        files.metrics,
        files.report,
        files.history,
        files.weights,
        files.benchmark,
        strict=True,
    )
]
table = comparison_table(rows)
logging.info("comparison:\n%s", table.to_string())
table.to_csv(snakemake.output.table, sep="\t", float_format="%.6g")
plot_comparison(table, snakemake.output.figure)
