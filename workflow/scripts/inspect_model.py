"""Rule inspect_model: the trained model's layers, output shapes and parameter counts as a table,
its loss and accuracy per epoch (from history.tsv), its first convolution layer's learned filters,
and that layer's feature maps of one test image per class."""

import logging

from mnist_cnn import rule

rule.start(snakemake)
# the layers and one layer's output for ten images: Keras' numpy backend does that in half the time
# that importing TensorFlow takes, and gives the same numbers (scikit-learn is not needed)
rule.keras_without_tensorflow("sklearn", threads=snakemake.threads)
import keras  # noqa: E402
import pandas as pd  # noqa: E402

from mnist_cnn.data import load_split  # noqa: E402
from mnist_cnn.figures import plot_feature_maps, plot_filters, plot_message, plot_training_curves  # noqa: E402
from mnist_cnn.inspection import feature_maps, first_conv_layer, first_of_each_class, summary_table  # noqa: E402
from mnist_cnn.tables import write_html_table  # noqa: E402

model = keras.models.load_model(snakemake.input.model)
table = summary_table(model)
logging.info("model summary:\n%s", table.to_string(index=False))
table.to_csv(snakemake.output.summary, sep="\t", index=False)
write_html_table(
    table,
    snakemake.output.summary_html,
    f"Model summary: {model.count_params():,} parameters in {len(model.layers)} layers",
)

history = pd.read_csv(snakemake.input.history, sep="\t")
logging.info(
    "history, %d epochs, validated on the %s:\n%s",
    len(history),
    snakemake.params.validation,
    history.to_string(index=False),
)
plot_training_curves(history, snakemake.output.curves, snakemake.params.validation)

layer = first_conv_layer(model)
if layer is None:
    layers = ", ".join(type(layer).__name__ for layer in model.layers)
    logging.info("no Conv2D layer in the model (%s): no filters to draw", layers)
    for path, what in ((snakemake.output.filters, "Filters"), (snakemake.output.maps, "Feature maps")):
        plot_message(
            path, f"{what} of the first convolution layer", f"This model has no Conv2D layer: {layers}."
        )
else:
    kernels = keras.ops.convert_to_numpy(layer.kernel)
    logging.info("first convolution layer %s: kernels of shape %s", layer.name, kernels.shape)
    plot_filters(kernels, snakemake.output.filters, layer.name)
    images, labels = load_split(snakemake.input.data)
    chosen = first_of_each_class(labels, snakemake.params.num_classes)
    maps = feature_maps(model, layer, images[chosen])
    plot_feature_maps(
        images[chosen],
        labels[chosen],
        maps,
        kernels,
        snakemake.output.maps,
        layer.name,
        snakemake.params.input_shape,
    )
