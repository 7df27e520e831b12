"""Confusion matrix plot and per-class scores, as Galaxy's ml_visualization_ex shows them."""

import matplotlib

matplotlib.use("Agg")  # headless: rules run without a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay, classification_report, confusion_matrix  # noqa: E402

from mnist_cnn import InputError  # noqa: E402


def predicted_classes(predictions: pd.DataFrame) -> np.ndarray:
    """The class of each row of predictions.tsv: its Predicted column, or the likeliest class."""
    if "Predicted" in predictions.columns:
        return predictions["Predicted"].to_numpy()
    return predictions.to_numpy().argmax(axis=1)


def check_same_length(y_true: np.ndarray, y_pred: np.ndarray, pred_source: str) -> None:
    if len(y_true) != len(y_pred):
        raise InputError(f"{pred_source} has {len(y_pred)} predictions but y_test has {len(y_true)} labels")


def report_table(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> pd.DataFrame:
    """Precision, recall, F1 and support per class, then accuracy, macro and weighted averages.

    The accuracy row holds the accuracy in f1-score and the number of images in support, as
    scikit-learn's printed report shows it.
    """
    report = classification_report(
        y_true, y_pred, labels=list(range(num_classes)), output_dict=True, zero_division=0
    )
    accuracy = report.pop("accuracy", float(np.mean(y_true == y_pred)))
    table = pd.DataFrame(report).T
    table.loc["accuracy"] = [np.nan, np.nan, accuracy, len(y_true)]
    table = table.loc[[str(c) for c in range(num_classes)] + ["accuracy", "macro avg", "weighted avg"]]
    table["support"] = table["support"].astype(int)
    table.index.name = "class"
    return table


def confusion_table(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> pd.DataFrame:
    """Counts of test images by true class (rows) and predicted class (columns)."""
    classes = list(range(num_classes))
    table = pd.DataFrame(confusion_matrix(y_true, y_pred, labels=classes), index=classes, columns=classes)
    table.index.name = "true_class"
    return table


def plot_confusion_matrix(table: pd.DataFrame, *paths, normalise: bool = False) -> None:
    """Counts in every cell, a colour bar, both axes labelled, the accuracy in the title.

    ``normalise``: each row divided by its sum, so the diagonal holds each class's recall.
    The figure is written to every path, in the format its suffix names (png, svg).
    """
    counts = table.to_numpy()
    values = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1) if normalise else counts
    fig, ax = plt.subplots(figsize=(8, 7), layout="constrained")
    display = ConfusionMatrixDisplay(values, display_labels=table.columns).plot(
        ax=ax, cmap="Blues", colorbar=True, values_format=".1%" if normalise else None
    )
    if normalise:
        display.im_.set_clim(0, 1)
        display.im_.colorbar.ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        # an empty cell is no image at all; "0.0%" would also stand for 1 in 2,000
        for text, count in zip(display.text_.flat, counts.flat, strict=True):
            if count == 0:
                text.set_text("")
    ax.set_xlabel("Predicted class labels")
    ax.set_ylabel("True class labels")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(
        f"Confusion matrix normalised by row (true class), in %: recall on the diagonal\n"
        f"{counts.sum()} test images, accuracy {accuracy:.4f}"
        if normalise
        else f"Confusion matrix: {counts.sum()} test images, accuracy {accuracy:.4f}"
    )
    for path in paths:
        # an SVG holds the date it was written and random ids unless told not to: the same
        # results must give the same bytes (tools/check_reproducibility.py)
        svg = str(path).endswith(".svg")
        with plt.rc_context({"svg.hashsalt": "mnist-cnn"} if svg else {}):
            fig.savefig(path, dpi=100, bbox_inches="tight", metadata={"Date": None} if svg else None)
    plt.close(fig)
