"""Rule applied_agreement: which digit each experiment reads in each of your images, and where they agree."""

import logging

from mnist_cnn import rule

rule.start(snakemake)
import pandas as pd  # noqa: E402

from mnist_cnn.comparison import agreement_table  # noqa: E402

predictions = [pd.read_csv(path, sep="\t") for path in snakemake.input]
table = agreement_table(snakemake.params.names, predictions)
logging.info(
    "the experiments agree on %d of %d images: %.4f", table["agree"].sum(), len(table), table["agree"].mean()
)
table.to_csv(snakemake.output[0], sep="\t", index=False)
