"""Fit time per epoch with and without tf.data's autotuner, on all 60,000 MNIST training images.

The tutorial's CNN, Adam, batch 500, ``--epochs`` epochs, fed three ways, alternating, ``--rounds``
times each, each in a fresh process:

- numpy: float32 arrays handed to ``fit``, as a plain Keras script does (Keras then builds a
  tf.data pipeline of its own, autotuned);
- autotune: a tf.data pipeline (shuffle, batch, ``prefetch(AUTOTUNE)``);
- fixed: the same pipeline with ``prefetch(1)`` and the autotuner off, as the train rule feeds it
  (``mnist_cnn.tensorflow_runtime.batches``).

Prints each run's seconds per epoch and the median total per way. On the 2-core machine of
benchmarks/results/peer_vs_workflow.md, epochs of the first two ways now and then took twice as
long, the CPUs idle for about 10 s; the third never did.

    python benchmarks/tf_data_autotune.py [--rounds 3] [--epochs 3] [--data DIR]
"""

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))

from full_data import add_data_arguments, full_mnist_tsvs  # noqa: E402

WAYS = ("numpy", "autotune", "fixed")

ONE_RUN = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, "workflow/scripts")
import keras, tensorflow as tf, yaml
from mnist_cnn.tensorflow_runtime import batches
from mnist_cnn.data import read_split
from mnist_cnn.model_config import build_model
way, epochs = sys.argv[1], int(sys.argv[2])
data = Path(sys.argv[3])
images, labels = read_split(data / "X_train.tsv", data / "y_train.tsv", 784, 10)
targets = keras.utils.to_categorical(labels, 10)
config = yaml.safe_load(open("config.yaml"))  # the tutorial's model, as model_config builds it
model = build_model(config["model"]["input_shape"], config["model"]["layers"])
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
seconds = []
class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        seconds.append(time.perf_counter() - self.started)
if way == "numpy":
    data = {"x": images.reshape(len(images), -1).astype("float32"), "y": targets, "batch_size": 500}
elif way == "autotune":
    data = {"x": tf.data.Dataset.from_tensor_slices((images.reshape(len(images), -1), targets))
            .shuffle(len(images), seed=0).batch(500)
            .map(lambda x, y: (tf.cast(x, tf.float32), y)).prefetch(tf.data.AUTOTUNE)}
else:
    data = {"x": batches(images.reshape(len(images), -1), targets, 500, shuffle_seed=0)}
model.fit(**data, epochs=epochs, verbose=0, callbacks=[EpochTimer()])
print(json.dumps(seconds))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    add_data_arguments(parser)
    args = parser.parse_args()
    data = full_mnist_tsvs(args)
    totals = {way: [] for way in WAYS}
    for round_ in range(args.rounds):
        for way in WAYS:
            result = subprocess.run(
                [sys.executable, "-c", ONE_RUN, way, str(args.epochs), str(data)],
                cwd=REPO,
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                sys.exit(result.stderr)
            seconds = json.loads(result.stdout.strip().splitlines()[-1])
            totals[way].append(sum(seconds))
            epochs = ", ".join(f"{s:.1f}" for s in seconds)
            print(f"round {round_ + 1}, {way}: epochs {epochs} s; total {sum(seconds):.1f} s", flush=True)
    print("\n| feeding | median total (s) | slowest run (s) |\n|---|---:|---:|")
    for way in WAYS:
        print(f"| {way} | {statistics.median(totals[way]):.1f} | {max(totals[way]):.1f} |")


if __name__ == "__main__":
    main()
