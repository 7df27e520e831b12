"""Fixtures: the real MNIST digits of resources/mnist_sample as Zenodo-style TSVs, a fake Zenodo.

Tests read only what the repository holds: a fresh clone with nothing beside it runs them all.
"""

import gzip
import shutil
from pathlib import Path

import pytest
from slurm_cluster import remove_stale_conf
from zenodo_server import FakeZenodo

from mnist_cnn import ZENODO_FILES
from mnist_cnn.data import read_split

REPO = Path(__file__).resolve().parents[1]
# A stratified subset of the real MNIST: 300 training and 100 test images of every digit, gzipped.
SAMPLE = REPO / "resources" / "mnist_sample"
PER_CLASS = {"train": 300, "test": 100}


def pytest_sessionstart(session):
    # a slurm.conf left by a killed session would cost every snakemake command 10 s (slurm_cluster.py)
    remove_stale_conf()


@pytest.fixture(scope="session")
def mnist_test(tsv_dir):
    """The sample's 1,000 real MNIST test images (uint8, an image per row) and labels."""
    return read_split(tsv_dir / "X_test.tsv", tsv_dir / "y_test.tsv", 784, 10)


@pytest.fixture(scope="session")
def tsv_dir(tmp_path_factory) -> Path:
    """X_train.tsv, y_train.tsv, X_test.tsv, y_test.tsv of the sample, uncompressed as on Zenodo
    (read-only use)."""
    folder = tmp_path_factory.mktemp("zenodo_tsvs")
    for name in ZENODO_FILES:
        with gzip.open(SAMPLE / f"{name}.gz", "rb") as packed, open(folder / name, "wb") as plain:
            shutil.copyfileobj(packed, plain)
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
