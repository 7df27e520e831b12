"""Rule download: the four TSVs from the Zenodo record, each checked against its published md5."""

from pathlib import Path

from mnist_cnn import rule

rule.start(snakemake)
from mnist_cnn.zenodo import download  # noqa: E402

outputs = [Path(path) for path in snakemake.output]
zenodo = snakemake.config["zenodo"]
download(
    snakemake.params.url,
    snakemake.params.record,
    names=[path.name for path in outputs],
    dest_dir=outputs[0].parent,
    retries=zenodo["retries"],
    backoff=zenodo["backoff"],
    timeout=zenodo["timeout"],
)
