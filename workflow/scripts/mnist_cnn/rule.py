"""What every rule script does first: send stderr to the rule's log, report bad input briefly."""

import atexit
import gc
import logging
import os
import sys

from mnist_cnn import InputError

# The job's stderr as it was before start() sent it to the log: a terminal when snakemake runs in
# one (for progress bars, which must not fill the log).
terminal = sys.__stderr__


def start(snakemake) -> None:
    """Send everything written to stderr from now on to the rule's log file; exit without a last
    garbage collection.

    File descriptor 2 itself is redirected, so TensorFlow's C++ messages land in the log too.
    An InputError is a user's mistake, not a bug: it ends the job with its one-line message,
    in the log and in the terminal, without a traceback.
    Keras' own settings file (keras.json) is read from and written to ``.snakemake/keras`` of the
    run (``KERAS_HOME``), not the user's ``~/.keras``, whose floatx, image_data_format or backend
    would otherwise change what a run computes.
    """
    global terminal
    os.environ["KERAS_HOME"] = os.path.abspath(KERAS_HOME)
    terminal = os.fdopen(os.dup(2), "w")
    log = open(snakemake.log[0], "w")
    sys.stderr.flush()
    os.dup2(log.fileno(), 2)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # which environment ran the job: with --sdm conda, the rule's own (tests/test_conda.py reads it)
    logging.info("rule %s: Python %s in %s", snakemake.rule, sys.version.split()[0], sys.prefix)

    def report(kind, error, traceback):
        if not issubclass(kind, InputError):
            return sys.__excepthook__(kind, error, traceback)
        logging.error("%s", error)
        print(f"Error in rule {snakemake.rule}: {error}", file=terminal, flush=True)

    sys.excepthook = report
    # At exit Python's garbage collector would walk every object that TensorFlow and Keras made:
    # 0.6 s of a train or predict job. The outputs are written and closed by then: skip the walk.
    atexit.register(gc.freeze)


# Where every job's Keras keeps its settings file, keras.json (relative to the run's folder).
KERAS_HOME = os.path.join(".snakemake", "keras")
# The Keras backends a run can train on (config key backend).
BACKENDS = ("tensorflow", "jax")
# XLA's flag for deterministic GPU kernels (JAX): the same seed then gives the same bits there too.
XLA_DETERMINISTIC = "--xla_gpu_deterministic_ops=true"

# Keras imports these on start-up whether a script uses them or not (for its scikit-learn wrappers
# and its image-gallery plot), and goes on without them when they are absent.
KERAS_EXTRAS = ("sklearn", "matplotlib")


def without_modules(*names: str) -> None:
    """Make every later import of these modules fail, as if they were not installed.

    For the modules that Keras imports whether it needs them or not (``KERAS_EXTRAS``): a rule
    that uses none of them starts about 0.9 s sooner without them.
    """
    for name in names:
        sys.modules[name] = None


def keras_on(backend: str, threads: int, *absent: str) -> None:
    """Make the Keras imported next run on ``backend`` (config key backend: tensorflow or jax).

    With jax, TensorFlow is left out as if it were not installed: no part of the job imports it
    (Keras would, to ask whether it is available), so the job runs where there is none, such as a
    GPU machine with JAX alone. ``absent``: more modules to leave out (see ``without_modules``).
    ``threads``: the rule's.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    os.environ["KERAS_BACKEND"] = backend
    if backend == "jax":
        jax_environment(threads)
        absent = ("tensorflow", *absent)
    without_modules(*absent)


def jax_environment(threads: int) -> None:
    """JAX's settings, which it reads as it starts: its CPU client's threads, deterministic GPU
    kernels, GPU memory taken as needed.

    The CPU client has a thread per core unless PJRT_NPROC says otherwise (XLA_FLAGS'
    xla_cpu_multi_thread_eigen changes nothing): on 16 cores one convolution kept 3.4 cores busy,
    1.0 with PJRT_NPROC=1. XLA_DETERMINISTIC is added to the XLA_FLAGS the job was given. JAX
    takes 75% of a GPU's memory as it starts unless XLA_PYTHON_CLIENT_PREALLOCATE is false: jobs
    that share a GPU (replicates, experiments) would run out of it.
    """
    os.environ["PJRT_NPROC"] = str(threads)
    flags = os.environ.get("XLA_FLAGS", "").split()
    if XLA_DETERMINISTIC not in flags:
        flags.append(XLA_DETERMINISTIC)
    os.environ["XLA_FLAGS"] = " ".join(flags)
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")


def keras_without_tensorflow(*absent: str, threads: int = 1) -> None:
    """Make the Keras imported next run on its numpy backend (which uses jax, not TensorFlow).

    Enough to build a model, write its JSON and check optimizer and callback arguments, and it
    saves the seconds that importing TensorFlow takes. The JSON is the same as with TensorFlow.
    ``absent``: more modules to leave out (see ``without_modules``). ``threads``: the rule's.
    """
    os.environ["KERAS_BACKEND"] = "numpy"
    # The numpy backend's convolutions run on jax, on the CPU even where there is a GPU (whose
    # memory JAX would take), on the rule's threads (see jax_environment).
    os.environ["JAX_PLATFORMS"] = "cpu"
    os.environ["PJRT_NPROC"] = str(threads)
    # Keras' serialisation asks whether TensorFlow is available, which imports it: say it is not.
    without_modules("tensorflow", *absent)
