"""Rule data_sample: the first training images with their labels, to see that the data is digits."""

import logging

from mnist_cnn import rule

rule.start(snakemake)
from mnist_cnn.data import load_split  # noqa: E402
from mnist_cnn.figures import plot_digit_grid  # noqa: E402

images, labels = load_split(snakemake.input[0])
plot_digit_grid(images, labels, snakemake.output[0], snakemake.params.input_shape)
logging.info("drew the first training images of %d, with their labels", len(images))
