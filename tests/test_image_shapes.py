"""Images of any shape the schema allows: scikit-learn's 8x8 digits through the whole workflow."""

import numpy as np
import pandas as pd
import pytest
from png_files import png_size
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from workflow_runner import run_snakemake

from mnist_cnn.figures import picture_shape, plot_digit_grid, plot_misclassified
from mnist_cnn.mnist_idx import write_tsv

DENSE = [
    {"type": "Rescaling", "args": {"scale": 0.00392156862745098}},  # 1/255
    {"type": "Dense", "args": {"units": 32, "activation": "relu"}},
    {"type": "Dense", "args": {"units": 10, "activation": "softmax"}},
]


@pytest.fixture
def digits_8x8(tmp_path):
    """scikit-learn's 1,797 8x8 digits as Zenodo-style TSVs: 64 pixels 0..255 a row (theirs are
    0..16), 80% train, 20% test, stratified."""
    digits = load_digits()
    pixels = np.rint(digits.data * 255 / 16).astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        pixels, digits.target, test_size=0.2, stratify=digits.target, random_state=0
    )
    folder = tmp_path / "digits"
    folder.mkdir()
    for name, rows in {"X_train": x_train, "y_train": y_train, "X_test": x_test, "y_test": y_test}.items():
        write_tsv(folder / f"{name}.tsv", rows)
    return folder


def test_picture_shape():
    assert picture_shape([784]) == (28, 28)
    assert picture_shape([64]) == (8, 8)
    assert picture_shape([28, 28, 1]) == (28, 28)
    assert picture_shape([20, 30]) == (20, 30)
    assert picture_shape([60]) is None  # not a square
    assert picture_shape([8, 8, 3]) is None  # colour


def test_a_vector_that_is_not_a_square_gets_a_figure_saying_so(tmp_path):
    images, labels = np.zeros((12, 60), dtype=np.uint8), np.arange(12) % 10
    plot_digit_grid(images, labels, tmp_path / "digits.png", [60])
    mistakes = pd.DataFrame({"row": [1], "true_class": [0], "predicted_class": [1], "probability": [0.9]})
    plot_misclassified(images, mistakes, 12, tmp_path / "wrong.png", [60])
    for name in ("digits.png", "wrong.png"):
        width, height = png_size(tmp_path / name)
        assert height < 200  # one line of text, not a grid of images


def test_8x8_digits_run_the_whole_workflow_and_the_report(digits_8x8, tmp_path):
    config = {
        "data": {"dir": str(digits_8x8)},
        "model": {"input_shape": [64], "layers": DENSE},
        "fit": {"epochs": 10, "batch_size": 50},
    }
    workdir = tmp_path / "run"
    result = run_snakemake(workdir, config)
    assert result.returncode == 0, result.output
    results = workdir / "results"
    report = pd.read_csv(results / "classification_report.tsv", sep="\t", index_col=0)
    assert report.loc["accuracy", "support"] == 360 and report.loc["accuracy", "f1-score"] > 0.8
    assert png_size(results / "data" / "training_digits.png")[1] > 300  # five rows of 8x8 digits
    assert png_size(results / "misclassified.png")[1] > 100
    conv_log = (workdir / "logs" / "inspect_model.log").read_text()
    assert "no Conv2D layer in the model (Rescaling, Dense, Dense): no filters to draw" in conv_log
    result = run_snakemake(workdir, config, "--report", str(workdir / "report.html"))
    assert result.returncode == 0, result.output
    page = (workdir / "report.html").read_text()
    assert "training_digits.png" in page and "misclassified.png" in page
