"""Experiments side by side: a row of scores and size per experiment, the training times apart,
and a figure; with replicates, their mean, spread and 95% confidence interval, and the
differences between experiments (paired t-test where the replicates pair by seed, Welch's
otherwise)."""

import itertools

import h5py
import matplotlib
import numpy as np

matplotlib.use("Agg")  # headless: rules run without a display

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from scipy import stats  # noqa: E402

from mnist_cnn import InputError  # noqa: E402

# What each column of comparison.tsv holds, and where it comes from.
COLUMNS = {
    "test_accuracy": "accuracy on the test images (classification_report.tsv)",
    "holdout_accuracy": "accuracy on the holdout (model/train_metrics.tsv)",
    "holdout_loss": "loss on the holdout (model/train_metrics.tsv)",
    "parameters": "number of weights of the model (model/weights.h5)",
    "epochs": "epochs trained (model/history.tsv)",
}
# timings.tsv's, kept apart: wall times differ from run to run, the results above do not.
TIMING_COLUMNS = {"train_seconds": "wall time of the train job (benchmarks/.../train.tsv)"}
# With replicates: the columns summarised with a confidence interval, and how.
INTERVAL_COLUMNS = ["test_accuracy", "holdout_accuracy"]
STATISTICS = ["mean", "sd", "min", "max", "ci95_low", "ci95_high"]
CONFIDENCE = 0.95
# Values that differ by no more than this do not vary. Accuracies are shares of at most 70,000
# images read back from TSVs, so a real spread is at least 1e-6; equal values, or differences of
# pairs that are equal, differ by float rounding only (about 1e-16), which a t-test would read as a
# spread next to nothing, hence as a certain difference.
NO_SPREAD = 1e-9
# differences.tsv's test column: which test, or that there was nothing to test.
PAIRED, WELCH, NO_VARIATION = "paired", "Welch", "no variation"


def count_parameters(weights_h5) -> int:
    """The number of values in a weights.h5: every weight of the model, as ``count_params()`` counts."""
    sizes = []
    with h5py.File(weights_h5, "r") as weights:
        weights.visititems(
            lambda _, item: sizes.append(item.size) if isinstance(item, h5py.Dataset) else None
        )
    return sum(sizes)


def holdout_accuracy(scores: pd.Series) -> float:
    """The holdout accuracy under either name compile.metrics may give it; NaN if not measured."""
    return scores.get("accuracy", scores.get("acc", float("nan")))


def experiment_row(name: str, metrics, report, history, weights, benchmark) -> dict:
    """One experiment's row of comparison.tsv, from the files its jobs wrote."""
    scores = pd.read_csv(metrics, sep="\t").iloc[0]
    if "loss" not in scores:
        raise InputError(f"{metrics}: expected a column loss, found {', '.join(scores.index)}")
    return {
        "experiment": name,
        "test_accuracy": pd.read_csv(report, sep="\t", index_col=0).loc["accuracy", "f1-score"],
        "holdout_accuracy": holdout_accuracy(scores),
        "holdout_loss": scores["loss"],
        "parameters": count_parameters(weights),
        "epochs": len(pd.read_csv(history, sep="\t")),
        # Snakemake's repeat() writes a row per repetition
        "train_seconds": pd.read_csv(benchmark, sep="\t")["s"].mean(),
    }


def four_digits(value: float) -> str:
    """A number of the tables as people read them: four significant digits, what replicates can
    tell apart; whole up from 10,000 (parameters, seconds), never in exponent form there."""
    return f"{value:.0f}" if abs(value) >= 1e4 else f"{value:.4g}"


def replicate_table(rows: list[dict]) -> pd.DataFrame:
    """Rows of experiment_row() with each run's replicate and seed, as a table indexed by
    (experiment, replicate), in the order the config declares them."""
    if not rows:
        raise InputError("no experiments to compare: declare some under experiments in the config")
    columns = ["experiment", "replicate", "seed", *COLUMNS, *TIMING_COLUMNS]
    return pd.DataFrame(rows, columns=columns).set_index(["experiment", "replicate"])


def varies(values) -> bool:
    """Whether the values spread by more than float rounding (NO_SPREAD)."""
    return bool(np.ptp(values) > NO_SPREAD)


def summary(values: pd.Series) -> dict:
    """Mean, standard deviation, min, max and the 95% confidence interval of the mean (Student's t
    with n - 1 degrees of freedom); no interval (NaN) where the values do not vary, for a t interval
    of width 0 would claim the mean exactly known."""
    low = high = float("nan")
    if varies(values):
        low, high = stats.ttest_1samp(values, 0.0).confidence_interval(CONFIDENCE)
    return dict(
        zip(
            STATISTICS,
            [values.mean(), values.std(ddof=1), values.min(), values.max(), low, high],
            strict=True,
        )
    )


def summary_table(replicates: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """summary() of ``columns`` per experiment: column_mean, column_sd, ... column_ci95_high."""
    rows = {}
    for name, runs in replicates.groupby(level="experiment", sort=False):
        row = {"replicates": len(runs)}
        for column in columns:
            row |= {f"{column}_{statistic}": value for statistic, value in summary(runs[column]).items()}
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("experiment")


def has_replicates(replicates: pd.DataFrame) -> bool:
    return replicates.index.get_level_values("replicate").max() > 1


def comparison_table(replicates: pd.DataFrame) -> pd.DataFrame:
    """comparison.tsv: a row per experiment with COLUMNS; with replicates, mean, sd, min, max and
    95% interval of the accuracies, and the mean of the rest."""
    if not has_replicates(replicates):
        return replicates[list(COLUMNS)].droplevel("replicate")
    rest = [column for column in COLUMNS if column not in INTERVAL_COLUMNS]
    means = replicates.groupby(level="experiment", sort=False)[rest].mean()
    return summary_table(replicates, INTERVAL_COLUMNS).join(means)


def timings_table(replicates: pd.DataFrame) -> pd.DataFrame:
    """timings.tsv: the train job's wall time per experiment; with replicates, its mean, sd, min and
    max. No confidence interval: a time's spread is the machine's load, not chance in the data, and
    a t interval of two replicates reaches below zero seconds."""
    if not has_replicates(replicates):
        return replicates[list(TIMING_COLUMNS)].droplevel("replicate")
    table = summary_table(replicates, list(TIMING_COLUMNS))
    return table.drop(columns=[column for column in table.columns if "_ci95_" in column])


def pair_by_seed(one: pd.DataFrame, two: pd.DataFrame) -> bool:
    """Whether replicate i of both experiments had the same seed, for every i: then they had the same
    holdout split and batch order, and the replicates pair."""
    return (
        one.index.get_level_values("replicate").tolist() == two.index.get_level_values("replicate").tolist()
        and one["seed"].tolist() == two["seed"].tolist()
    )


def difference(one: pd.Series, two: pd.Series, paired: bool) -> dict:
    """The difference of the means of ``one`` and ``two`` (first minus second) and its test: paired
    t-test (scipy.stats.ttest_rel) or Welch's (ttest_ind, equal_var=False), with the 95% interval,
    degrees of freedom, p-value and whether the interval leaves out 0. Where nothing varies (the
    differences of the pairs, or both sides for Welch) no t-test applies: test is NO_VARIATION,
    with no interval, df or p-value, and not supported."""
    first, second = one.to_numpy(), two.to_numpy()
    row = {"test": PAIRED if paired else WELCH, "difference": first.mean() - second.mean()}
    if not (varies(first - second) if paired else varies(first) or varies(second)):
        untested = dict.fromkeys(["ci95_low", "ci95_high", "df", "p_value"], float("nan"))
        return row | {"test": NO_VARIATION, **untested, "supported": False}
    test = stats.ttest_rel(first, second) if paired else stats.ttest_ind(first, second, equal_var=False)
    interval = test.confidence_interval(CONFIDENCE)
    return row | {
        "ci95_low": interval.low,
        "ci95_high": interval.high,
        "df": float(test.df),
        "p_value": test.pvalue,
        "supported": bool(interval.low > 0 or interval.high < 0),
    }


def differences_table(replicates: pd.DataFrame) -> pd.DataFrame:
    """For each pair of experiments (in config order) and each accuracy: difference() of the two
    experiments' replicates, paired where they pair by seed (pair_by_seed), Welch's otherwise."""
    runs = {name: group for name, group in replicates.groupby(level="experiment", sort=False)}
    rows = []
    for (first, one), (second, two) in itertools.combinations(runs.items(), 2):
        paired = pair_by_seed(one, two)
        for column in INTERVAL_COLUMNS:
            rows.append(
                {
                    "experiment": first,
                    "versus": second,
                    "accuracy": column.removesuffix("_accuracy"),
                    **difference(one[column], two[column], paired),
                }
            )
    return pd.DataFrame(rows).set_index(["experiment", "versus", "accuracy"])


def plot_comparison(table: pd.DataFrame, path) -> None:
    """A bar per experiment in three panels: test accuracy, holdout loss, parameters."""
    panels = [
        ("test_accuracy", "Test accuracy", "{:.4f}"),
        ("holdout_loss", "Holdout loss", "{:.4g}"),
        ("parameters", "Parameters", "{:,.0f}"),
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


def plot_replicates(replicates: pd.DataFrame, table: pd.DataFrame, path) -> plt.Figure:
    """Test and holdout accuracy per experiment: every replicate a grey point, and below them the
    mean as a black tick and its 95% confidence interval as a bar (comparison_table's columns).
    Returns the figure (closed), whose artists hold what it shows."""
    values = replicates.reset_index()
    names = table.index.tolist()
    count = replicates.index.get_level_values("replicate").max()
    fig, axes = plt.subplots(1, 2, figsize=(12, 1.6 + 0.6 * len(names)), sharey=True, layout="constrained")
    for ax, column in zip(axes, INTERVAL_COLUMNS, strict=True):
        sns.stripplot(
            data=values,
            x=column,
            y="experiment",
            order=names,
            ax=ax,
            color="0.6",
            edgecolor="black",
            linewidth=0.5,
            size=6,
            jitter=0.15,
        )
        mean = table[f"{column}_mean"]
        ax.errorbar(
            mean,
            [position + 0.3 for position in range(len(names))],  # just below the experiment's points
            xerr=[mean - table[f"{column}_ci95_low"], table[f"{column}_ci95_high"] - mean],
            fmt="|",
            color="black",
            markersize=18,
            elinewidth=2,
            capsize=6,
        )
        ax.set_title(f"{column.replace('_', ' ').capitalize()}, {count} replicates")
        ax.set_xlabel(column.replace("_", " "))
        ax.grid(True, axis="x", color="0.85")
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].set_ylabel("Experiment")
    fig.suptitle(
        "Each replicate a grey point; below, the mean (black tick) and its 95% confidence interval (bar)"
    )
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return fig


def agreement_table(names: list[str], predictions: list[pd.DataFrame]) -> pd.DataFrame:
    """Per applied image: ``image``, the digit each run predicts (a column ``predicted by <name>``
    each, so that no name can take the place of another column) and whether they all agree
    (``agree``).

    ``predictions``: each run's applied predictions.tsv (columns image, Predicted, ...).
    """
    images = predictions[0]["image"]
    for name, table in zip(names, predictions, strict=True):
        if not table["image"].equals(images):
            raise InputError(f"{name}: expected predictions for the images {', '.join(images)}")
    predicted = pd.DataFrame(
        {f"predicted by {name}": table["Predicted"] for name, table in zip(names, predictions, strict=True)}
    )
    return pd.concat([images, predicted, (predicted.nunique(axis=1) == 1).rename("agree")], axis=1)
