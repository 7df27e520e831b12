"""Rule conv_filters: the first convolution layer's learned filters, and its feature maps of one
test image per class."""

import logging

from mnist_cnn import rule

rule.start(snakemake)
# one layer's output for ten images: Keras' numpy backend does that in half the time that
# importing TensorFlow takes, and gives the same numbers
rule.keras_without_tensorflow(threads=snakemake.threads)
import keras  # noqa: E402

from mnist_cnn.data import load_split  # noqa: E402
from mnist_cnn.figures import plot_feature_maps, plot_filters, plot_message  # noqa: E402
from mnist_cnn.inspection import feature_maps, first_conv_layer, first_of_each_class  # noqa: E402

model = keras.models.load_model(snakemake.input.model)
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
