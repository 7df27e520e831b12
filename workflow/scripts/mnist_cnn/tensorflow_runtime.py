"""TensorFlow for the rules that run it (train, predict): thread pools, determinism, and tf.data
pipelines that hand images to Keras a batch at a time."""

import logging

import numpy as np
import tensorflow as tf


def set_up_tensorflow(threads: int) -> None:
    """TensorFlow for a rule: ``threads`` threads for each op, one op at a time, deterministic ops
    (call first).

    An inter-op pool of ``threads`` as well would let as many ops run at once, each on up to
    ``threads`` threads. The model's ops depend on one another in turn anyway.
    Without op determinism TensorFlow may pick kernels (on GPUs above all) that add floating-point
    numbers in a different order on every run, and the same seed would not give the same bits.
    The thread count changes the order of the sums as well: bit-identical results need the same
    number of threads, as well as the same CPU or GPU and the same versions.
    """
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.experimental.enable_op_determinism()
    logging.info("TensorFlow threads: %d intra-op, 1 inter-op; op determinism on", threads)
    # said here, before it appears, because it reads as a failure and is none
    logging.info(
        "TensorFlow %s's input pipeline logs 'E0000 ... NodeDef mentions attribute "
        "use_unbounded_threadpool which is not in the op definition': harmless, an option this "
        "version's tf.data sets and its own op registry does not list; the data is unaffected",
        tf.__version__,
    )


def gpu_description() -> dict | None:
    """The first GPU TensorFlow sees, by name and compute capability; None without one."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    return {
        "name": details.get("device_name", gpus[0].name),
        "compute_capability": list(details.get("compute_capability") or (0, 0)),
    }


def batches(images: np.ndarray, targets: np.ndarray | None, batch_size: int, shuffle_seed: int | None = None):
    """Batches of float32 images, with their targets unless ``targets`` is None; shuffled anew each
    epoch if seeded.

    The images stay in memory as they are (uint8 for whole-number pixels) and are converted to
    float32 a batch at a time: the unscaled 0..255 values the model sees are the same, without a
    float32 copy of the whole set.
    """
    images = tf.constant(images)
    targets = None if targets is None else tf.constant(targets)
    order = tf.data.Dataset.range(len(images))
    if shuffle_seed is not None:
        order = order.shuffle(len(images), seed=shuffle_seed, reshuffle_each_iteration=True)

    def batch(rows):
        pixels = tf.cast(tf.gather(images, rows), tf.float32)
        return pixels if targets is None else (pixels, tf.gather(targets, rows))

    return without_autotune(order.batch(batch_size).map(batch).prefetch(1))


def without_autotune(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """The dataset without tf.data's autotuner: one batch made ahead, no tuning thread.

    A batch is a gather and a cast, far quicker than a training step. With the autotuner on, on a
    2-core machine, fit and the holdout evaluation took about 1 s longer, and now and then an
    epoch took twice as long with the CPUs idle (``python benchmarks/tf_data_autotune.py``).
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)
