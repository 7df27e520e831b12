"""Scores from scikit-learn: the confusion matrix and per-class scores, as Galaxy's
ml_visualization_ex shows them, and the ROC and precision-recall curves of each class."""

import functools
import logging

import matplotlib

matplotlib.use("Agg")  # headless: rules run without a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import NullLocator, PercentFormatter  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    ConfusionMatrixDisplay,
    PrecisionRecallDisplay,
    RocCurveDisplay,
    average_precision_score,
    classification_report,
    confusion_matrix,
    roc_auc_score,
)

from mnist_cnn import InputError  # noqa: E402
from mnist_cnn.data import load_split  # noqa: E402
from mnist_cnn.figures import (  # noqa: E402
    misclassified_table,
    plot_class_scores,
    plot_misclassified,
    save_figure,
)
from mnist_cnn.tables import write_html_table  # noqa: E402


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


def _scorable(labels: np.ndarray, c: int) -> bool:
    """A class's curves need test images of it and of other classes."""
    return 0 < np.sum(labels == c) < len(labels)


def auc_table(labels: np.ndarray, probabilities: np.ndarray) -> pd.DataFrame:
    """Per class (one against the rest): ROC AUC and average precision; then their macro means.

    A class without test images has no curve: its scores are left empty (NaN).
    """
    classes = range(probabilities.shape[1])
    table = pd.DataFrame(
        {
            "roc_auc": [
                roc_auc_score(labels == c, probabilities[:, c]) if _scorable(labels, c) else np.nan
                for c in classes
            ],
            "average_precision": [
                average_precision_score(labels == c, probabilities[:, c]) if _scorable(labels, c) else np.nan
                for c in classes
            ],
            "positives": [int(np.sum(labels == c)) for c in classes],
        },
        index=pd.Index([str(c) for c in classes], name="class"),
    )
    table.loc["macro avg"] = [table["roc_auc"].mean(), table["average_precision"].mean(), len(labels)]
    table["positives"] = table["positives"].astype(int)
    return table


def _per_class_panels(n: int, title: str):
    cols = min(5, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 2.0, rows * 2.5 + 0.4), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    fig.suptitle(title)
    return fig, axes.flat[:n]


def _plot_per_class_curves(
    labels: np.ndarray, probabilities: np.ndarray, path, title: str, display, style
) -> None:
    """One panel per class (this class against all others): scikit-learn's ``display`` of its
    curve, in black, then ``style(ax, c, display)`` for the axes that differ between curves."""
    fig, axes = _per_class_panels(probabilities.shape[1], title)
    for c, ax in enumerate(axes):
        if not _scorable(labels, c):
            ax.text(0.5, 0.5, f"digit {c}:\nno curve", ha="center", va="center")
            continue
        curve = display.from_predictions(
            labels == c, probabilities[:, c], ax=ax, curve_kwargs={"color": "black"}
        )
        if ax.get_legend():
            ax.get_legend().remove()
        style(ax, c, curve)
        ax.tick_params(labelsize=8)
        ax.set_aspect("auto")
        ax.grid(True, color="0.85")
    fig.tight_layout()
    save_figure(fig, path)


def plot_roc_curves(labels: np.ndarray, probabilities: np.ndarray, path) -> None:
    """One panel per class: its ROC curve (this class against all others), log-scaled FPR."""

    def style(ax, c: int, curve: RocCurveDisplay) -> None:
        ax.set_xscale("log")
        # ticks and grid at the decades only: a log axis' minor ticks (2 to 9 of each decade, ten
        # panels of them) took half of this figure's drawing time
        ax.xaxis.set_minor_locator(NullLocator())
        # a log axis has no 0: start at half the smallest false positive rate there can be
        ax.set_xlim(0.5 / max(np.sum(labels != c), 1), 1)
        ax.set_ylim(0, 1.02)
        ax.set_title(f"digit {c}: AUC {curve.roc_auc:.4f}", fontsize=9)
        ax.set_xlabel("false positive rate (log)", fontsize=8)
        ax.set_ylabel("true positive rate" if c % 5 == 0 else "", fontsize=8)

    title = "ROC curve of each class against the rest, on the test images"
    _plot_per_class_curves(labels, probabilities, path, title, RocCurveDisplay, style)


def plot_precision_recall_curves(labels: np.ndarray, probabilities: np.ndarray, path) -> None:
    """One panel per class: precision against recall as the probability threshold falls."""

    def style(ax, c: int, curve: PrecisionRecallDisplay) -> None:
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        ax.set_title(f"digit {c}: AP {curve.average_precision:.4f}", fontsize=9)
        ax.set_xlabel("recall", fontsize=8)
        ax.set_ylabel("precision" if c % 5 == 0 else "", fontsize=8)
        ax.set_xticks([0, 0.5, 1])

    title = "Precision-recall curve of each class against the rest, on the test images"
    _plot_per_class_curves(labels, probabilities, path, title, PrecisionRecallDisplay, style)


class EvaluatedRun:
    """What rule evaluation_figures reads of one run: evaluate's tables, the predicted
    probabilities and the test images, each read once; what several outputs share, made once."""

    def __init__(self, report, confusion_table, probabilities, data, input_shape):
        self.report = pd.read_csv(report, sep="\t", index_col=0)
        self.confusion = pd.read_csv(confusion_table, sep="\t", index_col=0)
        self.images, self.labels = load_split(data)
        self.probabilities = pd.read_csv(probabilities, sep="\t").to_numpy()
        check_same_length(self.labels, self.probabilities, probabilities)
        self.input_shape = input_shape

    @functools.cached_property
    def mistakes(self) -> pd.DataFrame:
        table = misclassified_table(self.labels, self.probabilities)
        logging.info("%d of %d test images misclassified", len(table), len(self.labels))
        return table

    @functools.cached_property
    def auc(self) -> pd.DataFrame:
        table = auc_table(self.labels, self.probabilities)
        logging.info("AUC per class:\n%s", table.to_string())
        return table


# Rule evaluation_figures (workflow/rules/report.smk): what writes each of its outputs, by the
# output's name in the rule. A new figure of the evaluation: its output there, its entry here.
EVALUATION_FIGURES = {
    "confusion_matrix_svg": lambda run, path: plot_confusion_matrix(run.confusion, path),
    "confusion_normalised": lambda run, path: plot_confusion_matrix(run.confusion, path, normalise=True),
    "confusion_html": lambda run, path: write_html_table(
        run.confusion, path, "Confusion matrix: true class (rows) by predicted class (columns)"
    ),
    "report_html": lambda run, path: write_html_table(
        run.report, path, "Precision, recall and F1 per class on the test images"
    ),
    "class_scores": lambda run, path: plot_class_scores(run.report, path),
    "misclassified": lambda run, path: plot_misclassified(
        run.images, run.mistakes, len(run.labels), path, run.input_shape
    ),
    "misclassified_table": lambda run, path: run.mistakes.to_csv(
        path, sep="\t", index=False, float_format="%.6g"
    ),
    "roc": lambda run, path: plot_roc_curves(run.labels, run.probabilities, path),
    "pr": lambda run, path: plot_precision_recall_curves(run.labels, run.probabilities, path),
    "auc_table": lambda run, path: run.auc.to_csv(path, sep="\t", float_format="%.6f"),
    "auc_html": lambda run, path: write_html_table(
        run.auc, path, "ROC AUC and average precision of each class against the rest"
    ),
}


def write_evaluation_figures(run: EvaluatedRun, outputs: dict) -> None:
    """Each output {name: path} of rule evaluation_figures, by its entry in EVALUATION_FIGURES."""
    unknown = sorted(set(outputs) - set(EVALUATION_FIGURES))
    if unknown:
        raise KeyError(
            f"rule evaluation_figures: no entry in mnist_cnn.evaluation.EVALUATION_FIGURES for {unknown}"
        )
    for name, path in outputs.items():
        EVALUATION_FIGURES[name](run, path)
    logging.info("wrote %s", ", ".join(outputs.values()))
