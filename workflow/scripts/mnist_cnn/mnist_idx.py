"""Turn the canonical MNIST IDX files into the Zenodo record's TSV layout.

Tests, benchmarks and the sample data in resources/ are made with it; the workflow itself
never reads IDX files. Run ``python -m mnist_cnn.mnist_idx --help`` (with workflow/scripts
on PYTHONPATH) to write TSVs yourself.
"""

import argparse
import gzip
from pathlib import Path

import numpy as np

IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_CELL = [str(value) for value in range(256)]


def read_idx(path: Path) -> np.ndarray:
    """Images as (n, 784) uint8 or labels as (n,) uint8 from a gzipped IDX file."""
    with gzip.open(path, "rb") as stream:
        data = stream.read()
    n_dims = data[3]
    shape = np.frombuffer(data, dtype=">u4", count=n_dims, offset=4)
    values = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * n_dims)
    return values.reshape(int(shape[0]), -1) if n_dims > 1 else values


def read_mnist(idx_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = IDX_FILES[split]
    return read_idx(Path(idx_dir) / images), read_idx(Path(idx_dir) / labels)


def stratified_rows(labels: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """Row indices with ``per_class`` rows of every class, in the original order."""
    rng = np.random.default_rng(seed)
    chosen = [
        rng.choice(np.flatnonzero(labels == label), size=per_class, replace=False)
        for label in np.unique(labels)
    ]
    return np.sort(np.concatenate(chosen))


def write_tsv(path: Path, rows: np.ndarray) -> None:
    """Integers, tab-separated, no header, as on Zenodo; gzipped when the name ends in .gz."""
    rows = rows.reshape(len(rows), -1)
    text = "".join("\t".join(_CELL[v] for v in row) + "\n" for row in rows.tolist())
    data = text.encode()
    if Path(path).suffix == ".gz":
        data = gzip.compress(data, mtime=0)  # mtime 0: the same rows give the same bytes
    Path(path).write_bytes(data)


def write_zenodo_tsvs(
    idx_dir: Path, out_dir: Path, per_class: dict[str, int | None], suffix: str = ".tsv"
) -> None:
    """Write X_/y_ train/test TSVs; ``per_class[split]`` None keeps every row."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for split, count in per_class.items():
        images, labels = read_mnist(idx_dir, split)
        if count is not None:
            rows = stratified_rows(labels, count)
            images, labels = images[rows], labels[rows]
        write_tsv(out_dir / f"X_{split}{suffix}", images)
        write_tsv(out_dir / f"y_{split}{suffix}", labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("idx_dir", type=Path, help="folder with the four MNIST *-ubyte.gz files")
    parser.add_argument("out_dir", type=Path, help="folder to write X_train.tsv, y_train.tsv, ...")
    parser.add_argument("--train-per-class", type=int, help="rows per digit in train (default: all)")
    parser.add_argument("--test-per-class", type=int, help="rows per digit in test (default: all)")
    parser.add_argument("--gzip", action="store_true", help="write .tsv.gz files")
    args = parser.parse_args()
    write_zenodo_tsvs(
        args.idx_dir,
        args.out_dir,
        {"train": args.train_per_class, "test": args.test_per_class},
        ".tsv.gz" if args.gzip else ".tsv",
    )


if __name__ == "__main__":
    main()
