"""Rule convert_images: your own digit images in MNIST's layout, a row of 784 pixels per image."""

import logging
import time

from mnist_cnn import rule

rule.start(snakemake)
import numpy as np  # noqa: E402

from mnist_cnn.handwriting import convert_images  # noqa: E402

started = time.perf_counter()
digits = convert_images(snakemake.input)  # every image checked before anything is written
seconds = time.perf_counter() - started
logging.info("converted %d images in %.2f s", len(digits), seconds)
np.savetxt(snakemake.output[0], digits, fmt="%d", delimiter="\t")
