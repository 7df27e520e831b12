"""evaluate and predict's output: per-class scores, the confusion matrix table and plot."""

import numpy as np
import pandas as pd
import pytest
from png_files import png_size
from sklearn.metrics import f1_score, precision_score, recall_score

from mnist_cnn import InputError
from mnist_cnn.evaluation import (
    check_same_length,
    confusion_table,
    plot_confusion_matrix,
    predicted_classes,
    report_table,
)
from mnist_cnn.prediction import write_predictions


@pytest.fixture(scope="module")
def labels_and_guesses(mnist_test):
    """The sample's real test labels and a predictor that is right about 80% of the time."""
    _, y_true = mnist_test
    rng = np.random.default_rng(1)
    y_pred = np.where(rng.random(len(y_true)) < 0.8, y_true, rng.integers(0, 10, len(y_true)))
    return y_true.astype(int), y_pred


def test_report_table_matches_scikit_learn(labels_and_guesses):
    y_true, y_pred = labels_and_guesses
    table = report_table(y_true, y_pred, 10)
    assert table.index.tolist() == [*map(str, range(10)), "accuracy", "macro avg", "weighted avg"]
    assert table["support"].iloc[:10].tolist() == [100] * 10
    np.testing.assert_allclose(table["precision"].iloc[:10], precision_score(y_true, y_pred, average=None))
    np.testing.assert_allclose(table["recall"].iloc[:10], recall_score(y_true, y_pred, average=None))
    assert table.loc["macro avg", "f1-score"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert table.loc["accuracy", "f1-score"] == pytest.approx(np.mean(y_true == y_pred))
    assert table.loc["accuracy", "support"] == 1000


def test_digit_zero_by_hand_as_in_the_tutorial(labels_and_guesses):
    y_true, y_pred = labels_and_guesses
    table, confusion = report_table(y_true, y_pred, 10), confusion_table(y_true, y_pred, 10)
    true_positives = confusion.loc[0, 0]
    assert table.loc["0", "precision"] == pytest.approx(true_positives / confusion[0].sum())
    assert table.loc["0", "recall"] == pytest.approx(true_positives / confusion.loc[0].sum())


def test_confusion_table_rows_are_true_classes(labels_and_guesses):
    y_true, y_pred = labels_and_guesses
    confusion = confusion_table(y_true, y_pred, 10)
    assert confusion.sum(axis=1).tolist() == np.bincount(y_true).tolist()
    assert confusion.sum(axis=0).tolist() == np.bincount(y_pred, minlength=10).tolist()


def test_confusion_matrix_plot_is_a_png(labels_and_guesses, tmp_path):
    plot_confusion_matrix(confusion_table(*labels_and_guesses, 10), tmp_path / "cm.png")
    width, height = png_size(tmp_path / "cm.png")
    assert 700 <= width <= 900 and 600 <= height <= 800


def test_predicted_classes_from_both_prediction_files(tmp_path):
    probabilities = pd.DataFrame(np.eye(10)[[3, 1, 4, 1, 5]], columns=[str(c) for c in range(10)])
    write_predictions(probabilities, tmp_path / "proba.tsv")
    write_predictions(pd.DataFrame({"Predicted": [3, 1, 4, 1, 5]}), tmp_path / "classes.tsv")
    for name in ("proba.tsv", "classes.tsv"):
        predictions = pd.read_csv(tmp_path / name, sep="\t")
        assert predicted_classes(predictions).tolist() == [3, 1, 4, 1, 5]


def test_prediction_count_must_match_labels():
    with pytest.raises(InputError, match="predictions.tsv has 4 predictions but y_test has 5 labels"):
        check_same_length(np.arange(5), np.arange(4), "predictions.tsv")
