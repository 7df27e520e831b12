"""Experiments side by side: a row of scores, size and training time per experiment, and a figure."""

import h5py
import matplotlib

matplotlib.use("Agg")  # headless: rules run without a display

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from mnist_cnn import InputError  # noqa: E402

# What each column of comparison.tsv holds, and where it comes from.
COLUMNS = {
    "test_accuracy": "accuracy on the test images (classification_report.tsv)",
    "holdout_accuracy": "accuracy on the holdout (model/train_metrics.tsv)",
    "holdout_loss": "loss on the holdout (model/train_metrics.tsv)",
    "parameters": "number of weights of the model (model/weights.h5)",
    "epochs": "epochs trained (model/history.tsv)",
    "train_seconds": "wall time of the train job (benchmarks/.../train.tsv)",
}


def count_parameters(weights_h5) -> int:
    """The number of values in a weights.h5: every weight of the model, as ``count_params()`` counts."""
    sizes = []
    with h5py.File(weights_h5, "r") as weights:
        weights.visititems(
            lambda _, item: sizes.append(item.size) if isinstance(item, h5py.Dataset) else None
        )
    return sum(sizes)


def experiment_row(name: str, metrics, report, history, weights, benchmark) -> dict:
    """One experiment's row of comparison.tsv, from the files its jobs wrote."""
    scores = pd.read_csv(metrics, sep="\t").iloc[0]
    if "loss" not in scores:
        raise InputError(f"{metrics}: expected a column loss, found {', '.join(scores.index)}")
    return {
        "experiment": name,
        "test_accuracy": pd.read_csv(report, sep="\t", index_col=0).loc["accuracy", "f1-score"],
        "holdout_accuracy": scores.get("accuracy", float("nan")),
        "holdout_loss": scores["loss"],
        "parameters": count_parameters(weights),
        "epochs": len(pd.read_csv(history, sep="\t")),
        # Snakemake's repeat() writes a row per repetition
        "train_seconds": pd.read_csv(benchmark, sep="\t")["s"].mean(),
    }


def comparison_table(rows: list[dict]) -> pd.DataFrame:
    """The rows as a table indexed by experiment, in the order the config declares them."""
    if not rows:
        raise InputError("no experiments to compare: declare some under experiments in the config")
    return pd.DataFrame(rows, columns=["experiment", *COLUMNS]).set_index("experiment")


def plot_comparison(table: pd.DataFrame, path) -> None:
    """A bar per experiment in four panels: test accuracy, holdout loss, parameters, training time."""
    panels = [
        ("test_accuracy", "Test accuracy", "{:.4f}"),
        ("holdout_loss", "Holdout loss", "{:.4g}"),
        ("parameters", "Parameters", "{:,.0f}"),
        ("train_seconds", "Training time (s)", "{:.1f}"),
    ]
    names = table.index.tolist()[::-1]  # the first experiment on top
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4 * len(panels), 1.2 + 0.5 * len(names)), sharey=True, layout="constrained"
    )
    for ax, (column, title, label) in zip(axes, panels, strict=True):
        values = table[column].loc[names]
        bars = ax.barh(names, values, color="tab:blue")
        ax.bar_label(bars, labels=[label.format(v) for v in values], padding=3)
        ax.set_title(title)
        ax.set_xlim(0, values.max() * 1.35 if values.max() > 0 else 1)
        if column == "test_accuracy":  # room for the labels, but no ticks past 1
            ax.set_xlim(0, 1.3)
            ax.set_xticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        if column == "parameters":
            ax.xaxis.set_major_formatter("{x:,.0f}")
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].set_ylabel("Experiment")
    fig.suptitle(f"{len(names)} experiments on the same data")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def agreement_table(names: list[str], predictions: list[pd.DataFrame]) -> pd.DataFrame:
    """Per applied image: the digit each experiment predicts, and whether they all agree (``agree``).

    ``predictions``: each experiment's applied predictions.tsv (columns image, Predicted, ...).
    """
    images = predictions[0]["image"]
    for name, table in zip(names, predictions, strict=True):
        if not table["image"].equals(images):
            raise InputError(f"{name}: expected predictions for the images {', '.join(images)}")
    table = pd.DataFrame(
        {"image": images, **{name: t["Predicted"] for name, t in zip(names, predictions, strict=True)}}
    )
    table["agree"] = table[names].nunique(axis=1) == 1
    return table
