"""Makes TensorFlow unimportable, as if it were not installed: on ``PYTHONPATH``, Python imports
this at start-up. Every attempt to import it is written to the file ``TENSORFLOW_IMPORTS`` names,
as the command line of the process that tried.

``TENSORFLOW_ALLOWED`` names the end of a script's path whose process may import TensorFlow after
all: the ``export_onnx.py`` rule, which converts with tf2onnx on TensorFlow whatever the backend
(Snakemake runs a copy of it named ``.snakemake/scripts/tmp<...>.export_onnx.py``).

tests/test_jax.py sets these for a run with ``backend: jax``.
"""

import os
import sys


class WithoutTensorFlow:
    """A meta path finder that refuses ``tensorflow`` and its submodules."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] != "tensorflow":
            return None
        with open(os.environ["TENSORFLOW_IMPORTS"], "a") as record:
            record.write(" ".join(sys.argv) + "\n")
        raise ModuleNotFoundError(f"No module named {name!r} (tests/without_tensorflow)", name=name)


allowed = os.environ.get("TENSORFLOW_ALLOWED")
if not (allowed and sys.argv and sys.argv[0].endswith(allowed)):
    sys.meta_path.insert(0, WithoutTensorFlow())
