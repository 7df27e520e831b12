"""Rule applied_figure: your own images beside their 28x28 versions and the model's predictions."""

import logging

from mnist_cnn import rule

rule.start(snakemake)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mnist_cnn.figures import APPLIED_SHOWN, plot_applied_digits  # noqa: E402
from mnist_cnn.handwriting import open_image  # noqa: E402

originals = [open_image(path) for path in snakemake.input.images[:APPLIED_SHOWN]]
for image in originals:
    image.thumbnail((84, 84))
digits = np.loadtxt(snakemake.input.digits, dtype=np.uint8, delimiter="\t", ndmin=2)
predictions = pd.read_csv(snakemake.input.predictions, sep="\t")
plot_applied_digits(originals, digits, predictions, snakemake.output[0])
logging.info("drew %d of %d images", len(originals), len(predictions))
