"""Rule provenance: the software, machine, data checksums and config of the run, in one YAML file."""

import logging
from pathlib import Path

import yaml

from mnist_cnn import rule

rule.start(snakemake)
from mnist_cnn.provenance import collect, write_provenance  # noqa: E402

record = collect(
    snakemake.input.data,
    snakemake.params.config,
    snakemake.params.snakemake_version,
    snakemake.params.workflow_version,
    yaml.safe_load(Path(snakemake.input.train_machine).read_text()),
)
for section in ("workflow", "software", "machine", "train"):
    logging.info("%s: %s", section, record[section])
for entry in record["data"].values():
    logging.info("%s: md5 %s, %d bytes", entry["path"], entry["md5"], entry["bytes"])
write_provenance(record, snakemake.output[0])
