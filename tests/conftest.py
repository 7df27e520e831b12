"""Fixtures: real MNIST digits from ../shared/data/mnist as Zenodo-style TSVs, a fake Zenodo."""

import os
import shutil
from pathlib import Path

import pytest
from zenodo_server import FakeZenodo

from mnist_cnn import ZENODO_FILES
from mnist_cnn.mnist_idx import read_mnist, write_zenodo_tsvs

REPO = Path(__file__).resolve().parents[1]
# The four MNIST IDX files (train-images-idx3-ubyte.gz, ...): ../shared/data/mnist beside the
# checkout, or wherever MNIST_IDX_DIR points.
MNIST_IDX = Path(os.environ.get("MNIST_IDX_DIR", REPO.parent / "shared" / "data" / "mnist"))
# Stratified subset: 300 training and 100 test images of every digit.
PER_CLASS = {"train": 300, "test": 100}


@pytest.fixture(scope="session")
def mnist_test():
    """The real 10,000 MNIST test images and labels."""
    return read_mnist(MNIST_IDX, "test")


@pytest.fixture(scope="session")
def tsv_dir(tmp_path_factory) -> Path:
    """X_train.tsv, y_train.tsv, X_test.tsv, y_test.tsv of the stratified subset (read-only use)."""
    folder = tmp_path_factory.mktemp("zenodo_tsvs")
    write_zenodo_tsvs(MNIST_IDX, folder, PER_CLASS)
    return folder


@pytest.fixture
def data_copy(tsv_dir, tmp_path) -> Path:
    """A private copy of the subset's TSVs, for a test to damage."""
    folder = tmp_path / "data"
    shutil.copytree(tsv_dir, folder)
    return folder


@pytest.fixture
def zenodo(tsv_dir):
    """A fake Zenodo on 127.0.0.1 serving the subset as record 4697906."""
    with FakeZenodo({name: tsv_dir / name for name in ZENODO_FILES}) as server:
        yield server
