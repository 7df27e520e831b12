"""Rule record_config: the config this run used, as YAML (``--configfile`` takes it back) and as a page."""

import logging
from pathlib import Path

from mnist_cnn import rule

rule.start(snakemake)
import yaml  # noqa: E402

from mnist_cnn.tables import write_html_text  # noqa: E402

text = yaml.safe_dump(snakemake.params.config, sort_keys=False, default_flow_style=None)
Path(snakemake.output.yaml).write_text(text)
write_html_text(text, snakemake.output.html, "The configuration of this run (results/config.yaml)")
logging.info("configuration of this run:\n%s", text)
