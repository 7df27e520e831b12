"""Rule train: holdout split, fit, scores on the holdout; saves the model and its weights."""

import json
import logging
import shutil
from pathlib import Path

from mnist_cnn import rule

rule.start(snakemake)
# scikit-learn splits the holdout: only matplotlib is left out
rule.keras_on(snakemake.params.backend, snakemake.threads, "matplotlib")
from mnist_cnn import keras_runtime  # noqa: E402
from mnist_cnn.data import load_split  # noqa: E402
from mnist_cnn.provenance import write_provenance  # noqa: E402
from mnist_cnn.training import (  # noqa: E402
    hardware,
    save_weights_h5,
    train,
    train_machine,
    write_scores,
)

keras_runtime.set_up(snakemake.threads)
if snakemake.threads != snakemake.params.configured_threads:
    logging.info(
        "%d threads instead of threads.train's %d: set by --cores, --max-threads or set-threads (profiles/slurm)",
        snakemake.threads,
        snakemake.params.configured_threads,
    )
machine = hardware()
images, labels = load_split(snakemake.input.data)
model_json = Path(snakemake.input.model_config).read_text()
builder = json.loads(Path(snakemake.input.builder).read_text())
model, history, scores = train(
    model_json,
    builder,
    images,
    labels,
    snakemake.params.holdout,
    snakemake.params.num_classes,
    machine,
    state_dir=snakemake.params.state_dir,
    terminal=rule.terminal if rule.terminal.isatty() else None,
)
computed_on = train_machine(machine, builder["precision"])
write_provenance(computed_on, snakemake.output.machine, "What train computed on")
logging.info("holdout scores: %s", scores)
model.save(snakemake.output.model)
save_weights_h5(model, snakemake.output.weights)
history.to_csv(snakemake.output.history, sep="\t", index=False, float_format="%.6g")
write_scores(scores, snakemake.output.metrics)
shutil.rmtree(snakemake.params.state_dir)  # the results are written: nothing to resume
