"""The report's figures and tables, each drawn from small real inputs: a CNN trained briefly on real digits."""

import json
import re
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import yaml
from png_files import png_size
from scipy.stats import rankdata

from mnist_cnn import InputError
from mnist_cnn.data import read_split
from mnist_cnn.evaluation import (
    auc_table,
    confusion_table,
    plot_confusion_matrix,
    plot_precision_recall_curves,
    plot_roc_curves,
    report_table,
)
from mnist_cnn.figures import (
    distinct_filters,
    misclassified_table,
    plot_class_scores,
    plot_digit_grid,
    plot_feature_maps,
    plot_filters,
    plot_message,
    plot_misclassified,
    plot_training_curves,
)
from mnist_cnn.inspection import feature_maps, first_conv_layer, first_of_each_class, summary_table
from mnist_cnn.model_builder import builder_config
from mnist_cnn.model_config import build_model
from mnist_cnn.prediction import class_probabilities
from mnist_cnn.tables import write_html_table, write_html_text
from mnist_cnn.training import train

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())


def assert_png(path: Path, width: tuple[int, int], height: tuple[int, int]) -> None:
    """A PNG whose size lies in the given (min, max) ranges.

    The report shows a figure at its own size, centred: one wider than about 1000 px is shrunk,
    one taller than the window loses its top, so no figure is made larger than that.
    """
    w, h = png_size(path)
    assert width[0] <= w <= width[1] and height[0] <= h <= height[1], (path.name, w, h)


@pytest.fixture(scope="module")
def trained(tsv_dir):
    """The tutorial's CNN after 2 epochs on 1,000 real training digits, and its history."""
    images, labels = read_split(tsv_dir / "X_train.tsv", tsv_dir / "y_train.tsv", 784, 10)
    model_json = build_model(CONFIG["model"]["input_shape"], CONFIG["model"]["layers"]).to_json()
    builder = json.loads(
        json.dumps(builder_config(CONFIG["compile"], {**CONFIG["fit"], "epochs": 2, "batch_size": 100}, 0))
    )
    model, history, _ = train(model_json, builder, images[:1000], labels[:1000], CONFIG["holdout"], 10)
    return model, history


@pytest.fixture(scope="module")
def test_set(trained, tsv_dir):
    """1,000 real test digits (100 per class), their labels and the model's probabilities."""
    images, labels = read_split(tsv_dir / "X_test.tsv", tsv_dir / "y_test.tsv", 784, 10)
    return images, labels, class_probabilities(trained[0], images, 500).to_numpy()


def test_digit_grid(tsv_dir, tmp_path):
    images, labels = read_split(tsv_dir / "X_train.tsv", tsv_dir / "y_train.tsv", 784, 10)
    plot_digit_grid(images, labels, tmp_path / "digits.png", [784])
    assert_png(tmp_path / "digits.png", (900, 1050), (550, 700))
    plot_digit_grid(images[:7], labels[:7], tmp_path / "few.png", [784])  # fewer than one row
    assert_png(tmp_path / "few.png", (900, 1050), (100, 220))


def test_training_curves(trained, tmp_path):
    _, history = trained
    assert history.columns.tolist() == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    plot_training_curves(history, tmp_path / "curves.png", "holdout")
    assert_png(tmp_path / "curves.png", (900, 1050), (350, 450))
    # a history without val_* columns (no validation) still plots the training part
    plot_training_curves(history[["epoch", "loss", "accuracy"]], tmp_path / "train_only.png", "holdout")
    assert_png(tmp_path / "train_only.png", (900, 1050), (350, 450))


def test_class_scores_and_confusion_matrices(test_set, tmp_path):
    _, labels, probabilities = test_set
    predicted = probabilities.argmax(axis=1)
    plot_class_scores(report_table(labels, predicted, 10), tmp_path / "scores.png")
    assert_png(tmp_path / "scores.png", (900, 1050), (400, 500))
    confusion = confusion_table(labels, predicted, 10)
    plot_confusion_matrix(confusion, tmp_path / "cm.png", tmp_path / "cm.svg")
    plot_confusion_matrix(confusion, tmp_path / "cm_norm.png", normalise=True)
    assert_png(tmp_path / "cm.png", (700, 900), (600, 800))
    assert_png(tmp_path / "cm_norm.png", (700, 900), (600, 800))
    svg = (tmp_path / "cm.svg").read_text()
    assert svg.startswith("<?xml") and "<svg" in svg
    width, height = (
        float(v) for v in re.search(r'<svg[^>]*width="([\d.]+)pt"[^>]*height="([\d.]+)pt"', svg).groups()
    )
    assert 500 <= width <= 700 and 450 <= height <= 600  # points: the PNG's size at 72 per inch


def test_misclassified_most_confident_first(test_set, tmp_path):
    images, labels, probabilities = test_set
    mistakes = misclassified_table(labels, probabilities)
    predicted = probabilities.argmax(axis=1)
    assert len(mistakes) == np.sum(predicted != labels) > 40
    assert mistakes["probability"].is_monotonic_decreasing
    first = mistakes.iloc[0]
    row = int(first["row"]) - 1  # rows of X_test.tsv count from 1
    assert labels[row] == first["true_class"] != first["predicted_class"] == predicted[row]
    assert first["probability"] == pytest.approx(probabilities[row].max())
    assert first["probability_of_true_class"] == pytest.approx(probabilities[row, labels[row]])
    plot_misclassified(images, mistakes, len(labels), tmp_path / "wrong.png", [784])
    assert_png(tmp_path / "wrong.png", (900, 1050), (550, 650))
    right = np.eye(10)[labels]  # no mistakes at all: a figure that says so
    plot_misclassified(images, misclassified_table(labels, right), len(labels), tmp_path / "none.png", [784])
    assert_png(tmp_path / "none.png", (900, 1050), (150, 250))


def test_auc_table_and_curves(test_set, tmp_path):
    _, labels, probabilities = test_set
    table = auc_table(labels, probabilities)
    assert table.index.tolist() == [*map(str, range(10)), "macro avg"]
    assert table["positives"].tolist() == [100] * 10 + [1000]
    # ROC AUC is the chance that a digit's image gets a higher probability of being that digit
    # than another digit's image: the Mann-Whitney statistic, computed here from ranks
    ranks = rankdata(probabilities[:, 3])
    positives = labels == 3
    n_pos, n_neg = positives.sum(), (~positives).sum()
    mann_whitney = (ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    assert table.loc["3", "roc_auc"] == pytest.approx(mann_whitney)
    assert table.loc["macro avg", "roc_auc"] == pytest.approx(table["roc_auc"].iloc[:10].mean())
    # better than chance (0.5 and 0.1) after 2 epochs on 800 images
    assert (table["roc_auc"].iloc[:10] > 0.8).all() and (table["average_precision"].iloc[:10] > 0.3).all()
    plot_roc_curves(labels, probabilities, tmp_path / "roc.png")
    plot_precision_recall_curves(labels, probabilities, tmp_path / "pr.png")
    for name in ("roc.png", "pr.png"):
        assert_png(tmp_path / name, (950, 1100), (450, 600))
    # a digit missing from the test images has no curve and no score
    keep = labels != 7
    without = auc_table(labels[keep], probabilities[keep])
    assert np.isnan(without.loc["7", "roc_auc"]) and without.loc["7", "positives"] == 0
    plot_roc_curves(labels[keep], probabilities[keep], tmp_path / "roc_without_7.png")
    assert_png(tmp_path / "roc_without_7.png", (950, 1100), (450, 600))


def test_model_summary_table(trained):
    table = summary_table(trained[0])
    assert table["layer"].tolist()[-1] == "total"
    assert table["type"].tolist()[:-1] == [
        "Reshape",
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dense",
    ]
    assert table["output_shape"].tolist()[:-1] == [
        "(batch, 28, 28, 1)",
        "(batch, 28, 28, 64)",
        "(batch, 14, 14, 64)",
        "(batch, 12, 12, 32)",
        "(batch, 6, 6, 32)",
        "(batch, 1152)",
        "(batch, 10)",
    ]
    assert table["parameters"].tolist() == [0, 640, 0, 18_464, 0, 0, 11_530, 30_634]


def test_filters_and_feature_maps(trained, test_set, tmp_path):
    model, _ = trained
    images, labels, _ = test_set
    layer = first_conv_layer(model)
    kernels = keras.ops.convert_to_numpy(layer.kernel)
    assert kernels.shape == (3, 3, 1, 64)
    plot_filters(kernels, tmp_path / "filters.png", layer.name)
    assert_png(tmp_path / "filters.png", (900, 1050), (300, 450))
    chosen = first_of_each_class(labels, 10)
    assert labels[chosen].tolist() == list(range(10))
    assert all(np.flatnonzero(labels == c)[0] == i for c, i in enumerate(chosen))
    maps = feature_maps(model, layer, images[chosen])
    assert maps.shape == (10, 28, 28, 64) and maps.min() >= 0  # padding same; after the ReLU
    plot_feature_maps(images[chosen], labels[chosen], maps, kernels, tmp_path / "maps.png", layer.name, [784])
    assert_png(tmp_path / "maps.png", (800, 950), (700, 850))


def test_distinct_filters_skip_dead_and_duplicate_ones(trained, test_set):
    model, _ = trained
    images, labels, _ = test_set
    layer = first_conv_layer(model)
    maps = feature_maps(model, layer, images[first_of_each_class(labels, 10)])
    maps[..., 5] = 0  # a dead filter: never active
    maps[..., 9] = maps[..., 1] * 2  # a copy of filter 1's maps
    chosen = distinct_filters(maps, 8)
    assert len(chosen) == 8 and list(chosen) == sorted(set(chosen))
    assert 5 not in chosen and not {1, 9} <= set(chosen)


def test_a_model_without_conv_layer_gets_a_message_instead(tmp_path):
    model = build_model([784], [{"type": "Dense", "args": {"units": 10, "activation": "softmax"}}])
    assert first_conv_layer(model) is None
    plot_message(tmp_path / "none.png", "Filters", "This model has no Conv2D layer: Dense.")
    assert_png(tmp_path / "none.png", (500, 900), (80, 200))


def test_conv_layer_on_colour_images_is_a_clear_error():
    model = build_model(
        [28, 28, 3], [{"type": "Conv2D", "args": {"filters": 4, "kernel_size": [3, 3]}}, {"type": "Flatten"}]
    )
    with pytest.raises(InputError, match="expected a first Conv2D layer on one \\(grey\\) channel, found 3"):
        first_conv_layer(model)


def test_html_tables_and_text(tmp_path):
    table = pd.DataFrame(
        {"roc_auc": [0.99, np.nan], "positives": [1135, 0], "note": ["a<b", np.nan]},
        index=pd.Index(["0", "1"], name="class"),
    )
    write_html_table(table, tmp_path / "t.html", "AUC <per class>")
    page = (tmp_path / "t.html").read_text()
    assert "<title>AUC &lt;per class&gt;</title>" in page
    assert page.count("<tr>") == 1 + 2  # the header, then a row per class
    assert '<th class="text">class</th><th class="number">roc_auc</th>' in page  # the index is a column
    assert '<td class="text">0</td><td class="number">0.9900</td><td class="number">1,135</td>' in page
    assert '<td class="text">a&lt;b</td>' in page
    assert '<td class="number"></td><td class="number">0</td><td class="text"></td>' in page  # NaN: empty
    write_html_text("a: <1>\n", tmp_path / "c.html", "config")
    assert "<pre>a: &lt;1&gt;\n</pre>" in (tmp_path / "c.html").read_text()


def test_the_figure_of_your_digits_names_each_image_by_its_file(mnist_test, tmp_path):
    from PIL import Image

    from mnist_cnn.figures import plot_applied_digits

    images, labels = mnist_test
    names = ["7_photo.jpg", "a_rather_long_file_name_of_a_scan.webp"]
    originals = [Image.fromarray(255 - image.reshape(28, 28)) for image in images[:2]]
    predictions = pd.DataFrame({"image": names, "Predicted": labels[:2], "probability": 0.5})
    fig = plot_applied_digits(originals, images[:2], predictions, tmp_path / "digits.png")
    titles = [ax.get_title() for ax in fig.axes[::2][:2]]
    assert titles == ["7_photo.jpg", "a_rather….webp"]
