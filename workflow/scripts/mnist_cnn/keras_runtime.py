"""Keras on the backend a rule chose (config key backend, set by ``rule.keras_on`` before Keras is
imported): its set-up for the rule's threads, the batches that fit, evaluate and predict are fed,
and what it computed on.

TensorFlow gets its tf.data pipelines (``tensorflow_runtime``). JAX has no input pipeline of its
own: it gets ``NumpyBatches``, a ``keras.utils.PyDataset`` of numpy arrays. Nothing here imports
TensorFlow unless Keras runs on it.
"""

import importlib.metadata
import logging
import math
import os

import keras
import numpy as np

from mnist_cnn.provenance import cpus_available


def backend() -> str:
    """The backend Keras runs on: ``tensorflow`` or ``jax``."""
    return keras.backend.backend()


def set_up(threads: int) -> None:
    """The backend for a rule of ``threads`` threads (call first).

    TensorFlow is given its thread pools and op determinism here (``set_up_tensorflow``); JAX read
    its settings from the environment as it started (``rule.jax_environment``): they are logged.
    """
    if backend() == "tensorflow":
        from mnist_cnn.tensorflow_runtime import set_up_tensorflow

        set_up_tensorflow(threads)
        return
    import jax

    logging.info(
        "JAX %s on %s; XLA_FLAGS=%s, PJRT_NPROC=%s, XLA_PYTHON_CLIENT_PREALLOCATE=%s",
        jax.__version__,
        ", ".join(f"{device.platform} {device.device_kind}" for device in jax.devices()),
        *(os.environ.get(name, "") for name in ("XLA_FLAGS", "PJRT_NPROC", "XLA_PYTHON_CLIENT_PREALLOCATE")),
    )


def threads() -> int:
    """The threads the backend computes with on a CPU (they change the order of the sums)."""
    if backend() == "tensorflow":
        import tensorflow as tf

        return tf.config.threading.get_intra_op_parallelism_threads()
    return int(os.environ.get("PJRT_NPROC") or cpus_available())


def gpu_description() -> dict | None:
    """The first GPU the backend sees, by name and compute capability; None without one."""
    if backend() == "tensorflow":
        from mnist_cnn.tensorflow_runtime import gpu_description as tensorflow_gpu

        return tensorflow_gpu()
    import jax

    gpus = [device for device in jax.devices() if device.platform == "gpu"]
    if not gpus:
        return None
    capability = getattr(gpus[0], "compute_capability", None) or "0.0"
    return {"name": gpus[0].device_kind, "compute_capability": [int(part) for part in capability.split(".")]}


def computed_with() -> dict:
    """For train_machine.yaml: the backend with its version and what makes it deterministic, and
    its threads."""
    if backend() == "tensorflow":
        import tensorflow as tf
        from tensorflow.python.framework.config import is_op_determinism_enabled

        return {
            "backend": {
                "name": "tensorflow",
                "version": tf.__version__,
                "op_determinism": is_op_determinism_enabled(),
            },
            "threads": {
                "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
            },
        }
    import jax

    return {
        "backend": {
            "name": "jax",
            "version": jax.__version__,
            "jaxlib": importlib.metadata.version("jaxlib"),
            "platform": jax.default_backend(),
            "XLA_FLAGS": os.environ.get("XLA_FLAGS", ""),
        },
        "threads": {"PJRT_NPROC": threads()},
    }


class NumpyBatches(keras.utils.PyDataset):
    """Batches of float32 images, with their targets unless ``targets`` is None, for backends
    without tf.data (JAX).

    With ``shuffle_seed``, epoch ``epoch`` (0-based, set by ``EpochProgress`` as each epoch begins)
    takes the images in an order drawn from the seed and the epoch's number alone: a run resumed
    at any epoch sees the orders that an uninterrupted one would. Without, in their own order.
    As tensorflow_runtime.batches, the images stay as they are (uint8 for whole-number pixels)
    and are converted to float32 a batch at a time.
    """

    def __init__(self, images: np.ndarray, targets: np.ndarray | None, batch_size: int, shuffle_seed=None):
        super().__init__()  # one worker, no processes: the batches come in order
        self.images, self.targets, self.batch_size = images, targets, batch_size
        self.shuffle_seed = shuffle_seed
        self.epoch = 0
        self._order = (None, None)  # (epoch, its order of the rows)

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def order(self) -> np.ndarray:
        """The rows in the order of this epoch."""
        if self.shuffle_seed is None:
            return np.arange(len(self.images))
        if self._order[0] != self.epoch:
            generator = np.random.default_rng([self.shuffle_seed, self.epoch])
            self._order = (self.epoch, generator.permutation(len(self.images)))
        return self._order[1]

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        rows = self.order()[index * self.batch_size : (index + 1) * self.batch_size]
        pixels = self.images[rows].astype(np.float32)
        return (pixels,) if self.targets is None else (pixels, self.targets[rows])


def batches(images: np.ndarray, targets: np.ndarray | None, batch_size: int, shuffle_seed: int | None = None):
    """Batches of float32 images (with their targets unless ``targets`` is None) for fit, evaluate
    and predict, shuffled anew each epoch if seeded: a tf.data pipeline on TensorFlow
    (``tensorflow_runtime.batches``), ``NumpyBatches`` on JAX."""
    if backend() == "tensorflow":
        from mnist_cnn.tensorflow_runtime import batches as tensorflow_batches

        return tensorflow_batches(images, targets, batch_size, shuffle_seed)
    return NumpyBatches(images, targets, batch_size, shuffle_seed)
