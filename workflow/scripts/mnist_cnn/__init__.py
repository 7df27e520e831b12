"""Shared logic of the CNN-on-MNIST workflow: the rule scripts and the tests import it."""

import hashlib

ZENODO_FILES = ("X_train.tsv", "y_train.tsv", "X_test.tsv", "y_test.tsv")


class InputError(Exception):
    """Bad input: the message names the file (and line) and what was expected.

    Not a ValueError on purpose: pooch retries downloads on ValueError.
    """


def md5sum(path) -> str:
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "md5").hexdigest()
