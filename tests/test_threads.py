"""Each job computes on at most the threads its rule declares (benchmarks/thread_use.py measures
whole runs)."""

import json
import os
import subprocess
import sys

from workflow_runner import REPO

TENSORFLOW_POOLS = """
import json, tensorflow as tf
from mnist_cnn.tensorflow_runtime import set_up_tensorflow
set_up_tensorflow(3)
print(json.dumps([tf.config.threading.get_intra_op_parallelism_threads(),
                  tf.config.threading.get_inter_op_parallelism_threads()]))
"""

# inspect_model's way (the feature maps): Keras' numpy backend, whose convolutions run on jax's CPU client
CONVOLUTIONS = """
import json, os, sys, time
from mnist_cnn import rule
rule.keras_without_tensorflow(threads=1)
import keras, numpy as np
from mnist_cnn.inspection import feature_maps, first_conv_layer
model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(64, 3, padding="same")])
images = np.random.default_rng(0).integers(0, 256, (500, 28, 28, 1), dtype=np.uint8)
feature_maps(model, first_conv_layer(model), images)  # compiled before the clock starts
cpu, wall = time.process_time(), time.perf_counter()
while time.perf_counter() - wall < 2:
    feature_maps(model, first_conv_layer(model), images)
print(json.dumps([os.environ["PJRT_NPROC"], (time.process_time() - cpu) / (time.perf_counter() - wall)]))
"""


def run_python(code: str):
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow" / "scripts")}
    env.pop("PJRT_NPROC", None)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO, env=env
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_tensorflow_runs_one_op_at_a_time_on_the_rules_threads():
    """intra-op: the rule's threads; inter-op 1, or ops would run side by side on as many each."""
    assert run_python(TENSORFLOW_POOLS) == [3, 1]


def test_numpy_backend_convolutions_keep_one_core_busy():
    """Without PJRT_NPROC, jax's pool has a thread per core: on 16 cores 3.4 of them were busy."""
    nproc, busy_cores = run_python(CONVOLUTIONS)
    assert nproc == "1"
    assert busy_cores < 1.1  # CPU time over wall time: never more than one thread at work
