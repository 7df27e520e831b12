"""Shared logic of the CNN-on-MNIST workflow: the rule scripts and the tests import it."""

import hashlib
from pathlib import Path

ZENODO_FILES = ("X_train.tsv", "y_train.tsv", "X_test.tsv", "y_test.tsv")
IMAGE_FORMATS = "PNG, JPEG, BMP, TIFF, GIF, WebP"


class InputError(Exception):
    """Bad input: the message names the file (and line) and what was expected.

    Not a ValueError on purpose: pooch retries downloads on ValueError.
    """


def md5sum(path) -> str:
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "md5").hexdigest()


def image_files(folder) -> list[Path]:
    """The files of ``folder`` taken as images (config apply.images): not hidden, not in subfolders, by name."""
    return sorted(path for path in Path(folder).iterdir() if path.is_file() and not path.name.startswith("."))
