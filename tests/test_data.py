"""Reading and checking the TSVs: real MNIST rows, and every kind of bad input."""

import gzip

import numpy as np
import pytest
from conftest import SAMPLE

from mnist_cnn import InputError
from mnist_cnn.data import check_md5, load_split, md5sum, read_labels, read_pixels, read_split, save_split
from mnist_cnn.mnist_idx import IDX_FILES, read_mnist, stratified_rows, write_zenodo_tsvs


def lines(path):
    return path.read_text().splitlines(keepends=True)


def rewrite_line(path, lineno, edit):
    """Replace line ``lineno`` (1-based) with ``edit(cells)`` joined by tabs."""
    text = lines(path)
    cells = text[lineno - 1].rstrip("\n").split("\t")
    text[lineno - 1] = "\t".join(edit(cells)) + "\n"
    path.write_text("".join(text))


def test_reads_the_real_digits_exactly(tsv_dir):
    images, labels = read_split(tsv_dir / "X_train.tsv", tsv_dir / "y_train.tsv", 784, 10)
    assert images.dtype == np.uint8 and images.shape == (3000, 784)
    assert images.flags.c_contiguous  # an image per row in memory: quick to split and batch
    # the same numbers as NumPy's own text reader finds in the files
    np.testing.assert_array_equal(images, np.loadtxt(tsv_dir / "X_train.tsv", delimiter="\t", dtype=np.uint8))
    np.testing.assert_array_equal(labels, np.loadtxt(tsv_dir / "y_train.tsv", dtype=np.uint8))
    assert np.bincount(labels).tolist() == [300] * 10
    assert 0.10 < np.mean(images > 127) < 0.25  # white ink on black, as MNIST's digits are


def test_values_written_as_floats_read_the_same(data_copy):
    x, y = data_copy / "X_test.tsv", data_copy / "y_test.tsv"
    expected = read_split(x, y, 784, 10)
    x.write_text(
        "".join(
            "\t".join(f"{int(v)}.0" for v in line.split("\t")) + "\n" for line in x.read_text().splitlines()
        )
    )
    y.write_text("".join(f"{line}.0\n" for line in y.read_text().splitlines()))
    images, labels = read_split(x, y, 784, 10)
    np.testing.assert_array_equal(images, expected[0])
    np.testing.assert_array_equal(labels, expected[1])


def test_header_row_is_recognised_and_skipped(data_copy):
    x, y = data_copy / "X_test.tsv", data_copy / "y_test.tsv"
    expected = read_split(x, y, 784, 10)
    x.write_text("\t".join(f"pixel{i}" for i in range(784)) + "\n" + x.read_text())
    y.write_text("label\n" + y.read_text())
    images, labels = read_split(x, y, 784, 10)
    np.testing.assert_array_equal(images, expected[0])
    np.testing.assert_array_equal(labels, expected[1])


def test_windows_line_ends_and_byte_order_mark_are_read(data_copy):
    y = data_copy / "y_test.tsv"
    expected = read_labels(y, 10)
    y.write_bytes(b"\xef\xbb\xbf" + y.read_bytes().replace(b"\n", b"\r\n"))
    np.testing.assert_array_equal(read_labels(y, 10), expected)


def test_gzipped_files_are_read(data_copy):
    y = data_copy / "y_test.tsv"
    gz = data_copy / "y_test.tsv.gz"
    gz.write_bytes(gzip.compress(y.read_bytes()))
    np.testing.assert_array_equal(read_labels(gz, 10), read_labels(y, 10))


def test_fractional_pixels_are_kept_as_float32(data_copy):
    x = data_copy / "X_test.tsv"
    rewrite_line(x, 1, lambda cells: ["127.5"] + cells[1:])
    images = read_pixels(x, 784)
    assert images.dtype == np.float32 and images[0, 0] == 127.5 and images.flags.c_contiguous


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c[:-1], "X_test.tsv, line 7: expected 784 tab-separated pixel values, found 783 values"),
        (
            lambda c: c + ["0"],
            "X_test.tsv, line 7: expected 784 tab-separated pixel values, found 785 values",
        ),
        (
            lambda c: c[:99] + ["abc"] + c[100:],
            "X_test.tsv, line 7, column 100: expected a number, found 'abc'",
        ),
        (
            lambda c: c[:99] + [""] + c[100:],
            "X_test.tsv, line 7, column 100: expected a number, found an empty cell",
        ),
        (
            lambda c: c[:99] + ["256"] + c[100:],
            "X_test.tsv, line 7, column 100: expected a pixel value 0..255, found 256",
        ),
        (
            lambda c: c[:99] + ["-1"] + c[100:],
            "X_test.tsv, line 7, column 100: expected a pixel value 0..255, found -1",
        ),
        (lambda c: [], "X_test.tsv, line 7: expected 784 tab-separated pixel values, found an empty line"),
    ],
    ids=["short-row", "long-row", "not-a-number", "empty-cell", "pixel-256", "pixel-negative", "empty-line"],
)
def test_bad_pixel_rows_are_named_by_line_and_column(data_copy, edit, message):
    x = data_copy / "X_test.tsv"
    rewrite_line(x, 7, edit)
    with pytest.raises(InputError) as error:
        read_pixels(x, 784)
    assert str(error.value) == message


def test_line_numbers_count_the_header(data_copy):
    x = data_copy / "X_test.tsv"
    rewrite_line(x, 3, lambda c: ["300"] + c[1:])
    x.write_text("\t".join(f"p{i}" for i in range(784)) + "\n" + x.read_text())
    with pytest.raises(
        InputError, match="X_test.tsv, line 4, column 1: expected a pixel value 0..255, found 300"
    ):
        read_pixels(x, 784)


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("10", "y_test.tsv, line 5: expected an integer class label 0..9, found 10"),
        ("-1", "y_test.tsv, line 5: expected an integer class label 0..9, found -1"),
        ("2.5", "y_test.tsv, line 5: expected an integer class label 0..9, found 2.5"),
        ("seven", "y_test.tsv, line 5, column 1: expected a number, found 'seven'"),
        ("", "y_test.tsv, line 5: expected 1 tab-separated class label, found an empty line"),
        ("3\t4", "y_test.tsv, line 5: expected 1 tab-separated class label, found 2 values"),
    ],
    ids=["too-big", "negative", "fraction", "word", "empty", "two-values"],
)
def test_bad_labels_are_named_by_line(data_copy, label, message):
    y = data_copy / "y_test.tsv"
    rewrite_line(y, 5, lambda cells: [label])
    with pytest.raises(InputError) as error:
        read_labels(y, 10)
    assert str(error.value) == message


def test_row_counts_of_x_and_y_must_match(data_copy):
    y = data_copy / "y_test.tsv"
    y.write_text("".join(lines(y)[:-1]))
    with pytest.raises(
        InputError, match="X_test.tsv has 1000 rows but y_test.tsv has 999: expected one label per image"
    ):
        read_split(data_copy / "X_test.tsv", y, 784, 10)


@pytest.mark.parametrize(("content", "found"), [("", "nothing"), ("label\n", "a header row and no data")])
def test_empty_file_is_an_error(data_copy, content, found):
    y = data_copy / "y_test.tsv"
    y.write_text(content)
    with pytest.raises(
        InputError, match=f"y_test.tsv is empty: expected rows of 1 tab-separated class label, found {found}"
    ):
        read_labels(y, 10)


def test_md5_check(data_copy):
    y = data_copy / "y_test.tsv"
    check_md5(y, md5sum(y))
    check_md5(y, "md5:" + md5sum(y).upper())
    with pytest.raises(InputError, match=f"y_test.tsv: md5 is {md5sum(y)} but expected {'f' * 32}"):
        check_md5(y, "f" * 32)


def test_split_round_trips_through_npz(tsv_dir, tmp_path):
    images, labels = read_split(tsv_dir / "X_test.tsv", tsv_dir / "y_test.tsv", 784, 10)
    save_split(tmp_path / "test.npz", images, labels)
    loaded = load_split(tmp_path / "test.npz")
    np.testing.assert_array_equal(loaded[0], images)
    np.testing.assert_array_equal(loaded[1], labels)


def write_idx(path, array):
    """A gzipped IDX file (big-endian header, then uint8 values), as MNIST's own files are."""
    shape = (len(array), 28, 28) if array.ndim == 2 else (len(array),)
    header = bytes([0, 0, 8, len(shape)]) + np.array(shape, dtype=">u4").tobytes()
    path.write_bytes(gzip.compress(header + array.tobytes()))


def test_idx_files_become_the_repository_sample(tsv_dir, tmp_path):
    """mnist_idx, which wrote resources/mnist_sample (README.md), reads IDX and writes the same bytes."""
    idx = tmp_path / "idx"
    idx.mkdir()
    for split, (images_file, labels_file) in IDX_FILES.items():
        images, labels = read_split(tsv_dir / f"X_{split}.tsv", tsv_dir / f"y_{split}.tsv", 784, 10)
        write_idx(idx / images_file, images.astype(np.uint8))
        write_idx(idx / labels_file, labels.astype(np.uint8))
        np.testing.assert_array_equal(read_mnist(idx, split)[0], images)
    write_zenodo_tsvs(idx, tmp_path / "tsvs", {"train": None, "test": 100}, ".tsv.gz")
    for path in (tmp_path / "tsvs").iterdir():
        assert md5sum(path) == md5sum(SAMPLE / path.name), path.name


def test_stratified_rows_take_as_many_of_each_class_in_order():
    labels = np.random.default_rng(3).integers(0, 10, 5000)
    rows = stratified_rows(labels, 40)
    assert np.all(np.diff(rows) > 0)
    assert np.bincount(labels[rows]).tolist() == [40] * 10
    np.testing.assert_array_equal(rows, stratified_rows(labels, 40))  # seeded
