"""Read and check the tutorial's data: X_*.tsv (pixels) and y_*.tsv (labels), plain or gzipped.

pandas parses a well-formed file quickly; only when it finds something wrong is the file
scanned line by line, to name the first bad line and column.
"""

import gzip
import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd

from mnist_cnn import InputError, md5sum

PIXEL_MAX = 255


def open_text(path: Path):
    # utf-8-sig: a byte order mark must not turn the first value into a "header"
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")


def _is_number(cell: str) -> bool:
    try:
        return not math.isnan(float(cell))
    except ValueError:
        return False


def has_header(path: Path) -> bool:
    """A first row none of whose cells is a number is a header (column names)."""
    with open_text(path) as lines:
        first = lines.readline().rstrip("\r\n")
    return bool(first.strip()) and not any(_is_number(cell) for cell in first.split("\t"))


def _first_bad_line(path: Path, n_values: int, what: str, header: bool) -> InputError | None:
    """Find the first row that is not ``n_values`` tab-separated numbers."""
    expected = f"{n_values} tab-separated {what}"
    with open_text(path) as lines:
        for lineno, line in enumerate(lines, start=1):
            if header and lineno == 1:
                continue
            cells = line.rstrip("\r\n").split("\t")
            where = f"{path.name}, line {lineno}"
            if not line.strip():
                return InputError(f"{where}: expected {expected}, found an empty line")
            if len(cells) != n_values:
                return InputError(f"{where}: expected {expected}, found {len(cells)} values")
            for column, cell in enumerate(cells, start=1):
                if not cell.strip():
                    return InputError(f"{where}, column {column}: expected a number, found an empty cell")
                if not _is_number(cell):
                    return InputError(f"{where}, column {column}: expected a number, found {cell!r}")
    return None


def read_table(path: Path, n_values: int, what: str, dtype=None) -> tuple[np.ndarray, bool]:
    """Parse ``path`` as rows of ``n_values`` numbers; return them and whether it had a header.

    ``dtype`` None lets pandas take its fast path for whole numbers (int64), floats otherwise.
    """
    path = Path(path)
    header = has_header(path)
    try:
        frame = pd.read_csv(
            path, sep="\t", header=None, skiprows=int(header), dtype=dtype, skip_blank_lines=False
        )
    except pd.errors.EmptyDataError:
        found = "a header row and no data" if header else "nothing"
        raise InputError(
            f"{path.name} is empty: expected rows of {n_values} tab-separated {what}, found {found}"
        ) from None
    except (ValueError, pd.errors.ParserError) as error:
        raise _first_bad_line(path, n_values, what, header) or InputError(f"{path.name}: {error}") from None
    values = frame.to_numpy()
    not_numbers = values.dtype.kind not in "iuf"  # a cell of text makes the whole table objects
    if frame.shape[1] != n_values or not_numbers or (values.dtype.kind == "f" and np.isnan(values).any()):
        raise _first_bad_line(path, n_values, what, header) or InputError(
            f"{path.name}: expected {n_values} tab-separated {what} per row"
        )
    return values, header


def _bad_cell(values: np.ndarray, bad: np.ndarray, path: Path, header: bool, expected: str) -> InputError:
    row, column = divmod(int(np.flatnonzero(bad)[0]), values.shape[1])
    where = f"{path.name}, line {row + 1 + header}"
    if values.shape[1] > 1:
        where += f", column {column + 1}"
    return InputError(f"{where}: expected {expected}, found {values[row, column]:g}")


def read_pixels(path: Path, n_features: int) -> np.ndarray:
    """Images, one per row: uint8 where every pixel is a whole number, else float32."""
    path = Path(path)
    pixels, header = read_table(path, n_features, "pixel values")
    if pixels.min() < 0 or pixels.max() > PIXEL_MAX:
        bad = (pixels < 0) | (pixels > PIXEL_MAX)
        raise _bad_cell(pixels, bad, path, header, f"a pixel value 0..{PIXEL_MAX}")
    # C order: an image per contiguous row (pandas hands columns), which the holdout split and
    # TensorFlow copy several times faster
    if pixels.dtype.kind == "i" or np.array_equal(pixels, np.round(pixels)):
        return pixels.astype(np.uint8, order="C")
    return pixels.astype(np.float32, order="C")


def read_labels(path: Path, num_classes: int) -> np.ndarray:
    """Class labels 0..num_classes-1, one per row; ``3`` and ``3.0`` are both label 3."""
    path = Path(path)
    labels, header = read_table(path, 1, "class label", np.float64)
    bad = (labels != np.round(labels)) | (labels < 0) | (labels >= num_classes)
    if bad.any():
        raise _bad_cell(labels, bad, path, header, f"an integer class label 0..{num_classes - 1}")
    return labels[:, 0].astype(np.int64)


def read_split(
    x_path: Path, y_path: Path, n_features: int, num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """The images and labels of one split, checked to belong together."""
    x_path, y_path = Path(x_path), Path(y_path)
    images = read_pixels(x_path, n_features)
    labels = read_labels(y_path, num_classes)
    if len(images) != len(labels):
        raise InputError(
            f"{x_path.name} has {len(images)} rows but {y_path.name} has {len(labels)}: "
            "expected one label per image"
        )
    return images, labels


def check_md5(path: Path, expected: str, key: str | None = None) -> str:
    """Check ``path`` against the checksum that data.md5 gives under ``key`` (its name if None).

    Under the file's own name the checksum is of its bytes; a gzipped file's checksum given under
    its name without ``.gz`` (as Zenodo publishes it for the plain TSV) is of its decompressed
    content. Returns what was checked, for the log.
    """
    path = Path(path)
    key = key or path.name
    decompressed = key != path.name
    if decompressed:
        with gzip.open(path, "rb") as content:
            found = hashlib.file_digest(content, "md5").hexdigest()
    else:
        found = md5sum(path)
    what = f"{path.name}: md5{' of its decompressed content' if decompressed else ''}"
    if found != expected.lower().removeprefix("md5:"):
        raise InputError(f"{what} is {found} but expected {expected} (data.md5 {key} in the config)")
    return f"{what} matches data.md5 {key}"


def check_known_md5(path: Path, md5: dict[str, str]) -> list[str]:
    """Check ``path`` against every data.md5 entry for it: under its name, or without ``.gz``."""
    path = Path(path)
    keys = dict.fromkeys([path.name, path.name.removesuffix(".gz")])
    return [check_md5(path, md5[key], key) for key in keys if key in md5]


def save_split(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    np.savez(path, images=images, labels=labels)


def load_split(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as split:
        return split["images"], split["labels"]
