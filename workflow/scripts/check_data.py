"""Rule check_data: parse and check one split's TSVs once, keep them as a compact .npz."""

import logging
import time
from pathlib import Path

from mnist_cnn import rule

rule.start(snakemake)
from mnist_cnn.data import check_known_md5, read_split, save_split  # noqa: E402

for path in snakemake.input:
    for checked in check_known_md5(path, snakemake.params.md5):
        logging.info("%s", checked)
started = time.perf_counter()
images, labels = read_split(
    snakemake.input.images, snakemake.input.labels, snakemake.params.n_features, snakemake.params.num_classes
)
seconds = time.perf_counter() - started
megabytes = sum(Path(path).stat().st_size for path in snakemake.input) / 1e6
logging.info("parsed %.1f MB in %.2f s: %.1f MB/s", megabytes, seconds, megabytes / seconds)
logging.info(
    "%d images of %d values (%s); labels %s", *images.shape, images.dtype, sorted(set(labels.tolist()))
)
save_split(snakemake.output[0], images, labels)
