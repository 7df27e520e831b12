"""Where the benchmarks get all of MNIST: the four Zenodo TSVs, as a user has them.

``--data DIR`` names a folder with X_train.tsv, y_train.tsv, X_test.tsv and y_test.tsv, for
example the ``results/data/`` of one real run of ``snakemake --cores 2`` (which downloads them
from Zenodo). Without it, on this repository's own machines, the TSVs are written once from the
MNIST IDX files in ``../shared/data/mnist`` into ``--cache``.
"""

import argparse
import sys
from pathlib import Path

from mnist_cnn import ZENODO_FILES  # the benchmarks put workflow/scripts on sys.path first
from mnist_cnn.mnist_idx import write_zenodo_tsvs

REPO = Path(__file__).resolve().parents[1]

SHARED_IDX = REPO.parent / "shared" / "data" / "mnist"


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        help="folder with the four Zenodo TSVs of all of MNIST, e.g. results/data of a real run "
        f"(default: written from {SHARED_IDX} into --cache)",
    )
    parser.add_argument(
        "--cache", type=Path, default=Path("/tmp/mnist-cnn-full-tsv"), help="where to write them then"
    )


def full_mnist_tsvs(args: argparse.Namespace) -> Path:
    """The folder holding the four TSVs; exits with what to do when there is none."""
    if args.data is None:
        if not SHARED_IDX.is_dir():
            sys.exit(
                "give --data DIR: a folder with X_train.tsv, y_train.tsv, X_test.tsv and y_test.tsv of "
                "all of MNIST. One real run downloads them: `.venv/bin/snakemake --cores 2 "
                "results/data/X_train.tsv results/data/y_train.tsv results/data/X_test.tsv "
                "results/data/y_test.tsv`, then --data results/data"
            )
        if not all((args.cache / name).exists() for name in ZENODO_FILES):
            write_zenodo_tsvs(SHARED_IDX, args.cache, {"train": None, "test": None})
        return args.cache
    missing = [name for name in ZENODO_FILES if not (args.data / name).is_file()]
    if missing:
        sys.exit(f"--data {args.data}: no {', '.join(missing)} (expected the four uncompressed Zenodo TSVs)")
    return args.data
