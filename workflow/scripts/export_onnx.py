"""Rule export_onnx: the trained model as ONNX (model.onnx), for deployment and for the rules that
run it with onnxruntime (predict, apply_model); float32 whatever precision train used.

Always converted on TensorFlow with tf2onnx, whichever backend trained the model (config backend):
model.keras holds no trace of the backend, and Keras exports JAX models only through jax2onnx,
which this workflow does not install. Where TensorFlow is not installed, set onnx: false.
"""

from pathlib import Path

import yaml

from mnist_cnn import rule

rule.start(snakemake)
rule.keras_on("tensorflow", snakemake.threads, *rule.KERAS_EXTRAS)
import keras  # noqa: E402

from mnist_cnn.onnx_model import export_onnx  # noqa: E402
from mnist_cnn.tensorflow_runtime import set_up_tensorflow  # noqa: E402

set_up_tensorflow(snakemake.threads)
model = keras.models.load_model(snakemake.input.model)
precision = yaml.safe_load(Path(snakemake.input.machine).read_text())["precision"]["used"]
export_onnx(model, Path(snakemake.input.model_config).read_text(), precision, snakemake.output.onnx)
