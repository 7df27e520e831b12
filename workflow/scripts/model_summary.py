"""Rule model_summary: the model's layers, output shapes and parameter counts as a table."""

import logging
from pathlib import Path

from mnist_cnn import rule

rule.start(snakemake)
rule.keras_without_tensorflow(*rule.KERAS_EXTRAS)  # a JSON is enough: no TensorFlow needed
import keras  # noqa: E402

from mnist_cnn.inspection import summary_table  # noqa: E402
from mnist_cnn.tables import write_html_table  # noqa: E402

model = keras.models.model_from_json(Path(snakemake.input[0]).read_text())
table = summary_table(model)
logging.info("model summary:\n%s", table.to_string(index=False))
table.to_csv(snakemake.output.table, sep="\t", index=False)
write_html_table(
    table,
    snakemake.output.html,
    f"Model summary: {model.count_params():,} parameters in {len(model.layers)} layers",
)
