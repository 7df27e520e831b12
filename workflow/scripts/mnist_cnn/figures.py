"""The report's figures, drawn headless from the files the workflow writes, with matplotlib alone
(the curves that scikit-learn computes are in mnist_cnn.evaluation: its import takes seconds).

Every figure prints in grey: digits are black ink on white, weights and activations are
shades of grey, and lines differ by marker and dash as well as by colour.
"""

import math

import matplotlib

matplotlib.use("Agg")  # headless: rules run without a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

DPI = 100
INK = "gray_r"  # digits as on paper: 0 is white, 255 is black
GREYS = "gray"  # weights and activations: dark is low, light is high
plt.rcParams.update({"font.size": 10})


def save_figure(fig, path) -> None:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)


def plot_message(path, title: str, message: str) -> None:
    """A figure that only says why there is nothing to draw."""
    fig, ax = plt.subplots(figsize=(8, 1.6))
    ax.axis("off")
    ax.set_title(title)
    ax.text(0.5, 0.4, message, ha="center", va="center", wrap=True)
    save_figure(fig, path)


def picture_shape(input_shape) -> tuple[int, int] | None:
    """(height, width) to draw an image of ``model.input_shape`` as: its first two sides (with one
    channel, if any), or the square a vector fills; None for anything else."""
    shape = [int(side) for side in input_shape]
    if len(shape) == 2 or (len(shape) == 3 and shape[2] == 1):
        return shape[0], shape[1]
    side = math.isqrt(shape[0]) if len(shape) == 1 else 0
    return (side, side) if side and side * side == shape[0] else None


def _not_a_picture(input_shape) -> str:
    shape = tuple(int(side) for side in input_shape)
    return f"The images (model.input_shape {shape}) are not grey square or rectangular pictures: not drawn."


class TileGrid:
    """Small images in a grid of cells, each with room for a title above it, all in one Axes.

    One Axes per image costs about 50 ms to make and lay out (3 s for 64 filters); an image in
    a shared Axes costs a few. ``inch``: the width of a cell; ``title_lines``: the lines of title
    room above each tile of the rows in ``titled_rows`` (all rows unless given).
    """

    GAP = 0.1  # between tiles, in cell widths

    def __init__(self, rows, cols, inch, title_lines=1, fontsize=9, titled_rows=None, shape=(1, 1)):
        height, width = shape
        self.tile = (1.0, height / width) if width >= height else (width / height, 1.0)
        self.fontsize = fontsize
        band = title_lines * fontsize * 1.3 / 72 / inch  # title room, in cell widths
        titled = range(rows) if titled_rows is None else titled_rows
        self.heights = [1 + self.GAP + (band if row in titled else 0) for row in range(rows)]
        self.width = cols * (1 + self.GAP)
        self.fig = plt.figure(figsize=(self.width * inch, sum(self.heights) * inch))
        self.ax = self.fig.add_axes((0, 0, 1, 1))
        self.ax.axis("off")

    def box(self, row: int, col: int) -> tuple[float, float, float, float]:
        """The tile's left, right, bottom and top, in data units (y grows upwards)."""
        top = sum(self.heights[row + 1 :]) + 1 + self.GAP / 2 - (1 - self.tile[1]) / 2
        left = col * (1 + self.GAP) + self.GAP / 2 + (1 - self.tile[0]) / 2
        return left, left + self.tile[0], top - self.tile[1], top

    def image(self, row: int, col: int, image: np.ndarray, cmap: str, vmin: float, vmax: float) -> None:
        left, right, bottom, top = self.box(row, col)
        self.ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax, extent=(left, right, bottom, top))
        frame = Rectangle((left, bottom), right - left, top - bottom, fill=False, linewidth=0.8)
        self.ax.add_patch(frame)

    def digit(self, row: int, col: int, image: np.ndarray, shape: tuple[int, int] | None) -> None:
        """A digit as on paper, or a note that it is no picture."""
        if shape is None:
            self.text(row, col, "not a\npicture")
        else:
            self.image(row, col, image.reshape(shape), INK, 0, 255)

    def title(self, row: int, col: int, title: str) -> None:
        left, right, _, top = self.box(row, col)
        pad = 2 / 72 / (self.fig.get_figwidth() / self.width)  # 2 points, as Axes titles have
        self.ax.text((left + right) / 2, top + pad, title, ha="center", va="bottom", fontsize=self.fontsize)

    def text(self, row: int, col: int, text: str, **kwargs) -> None:
        left, right, bottom, top = self.box(row, col)
        kwargs = {"ha": "center", "va": "center", "fontsize": self.fontsize, **kwargs}
        self.ax.text((left + right) / 2, (bottom + top) / 2, text, **kwargs)

    def save(self, title: str, path, fontsize: float | None = None) -> None:
        self.ax.set_xlim(0, self.width)
        self.ax.set_ylim(0, sum(self.heights))
        self.ax.set_title(title, fontsize=fontsize)
        save_figure(self.fig, path)


def plot_digit_grid(
    images: np.ndarray, labels: np.ndarray, path, input_shape, rows: int = 5, cols: int = 10
) -> None:
    """The first ``rows * cols`` images of a split, in file order, each titled with its label."""
    shape = picture_shape(input_shape)
    if shape is None:
        return plot_message(path, "The first training images", _not_a_picture(input_shape))
    n = min(rows * cols, len(images))
    grid = TileGrid(-(-n // cols), cols, inch=0.9, shape=shape)
    for i in range(n):
        grid.digit(i // cols, i % cols, images[i], shape)
        grid.title(i // cols, i % cols, f"label {labels[i]}")
    grid.save(f"The first {n} training images (rows of X_train.tsv) with their labels (y_train.tsv)", path)


def _plain(value: float, _=None) -> str:
    """0.2 rather than matplotlib's 2 x 10^-1 on a log axis."""
    return f"{value:g}"


def _plain_235(value: float, _=None) -> str:
    """Labels for the ticks between powers of 10: only 2, 3 and 5 times one, so they do not crowd."""
    mantissa = value / 10 ** np.floor(np.log10(value))
    return _plain(value) if round(mantissa) in (2, 3, 5) else ""


def _no_label(value: float, _=None) -> str:
    return ""


def plot_training_curves(history: pd.DataFrame, path, validation: str) -> None:
    """Loss and each metric per epoch, on the training part and (val_*) on the ``validation`` images."""
    metrics = [m for m in history.columns if m not in ("epoch", "learning_rate") and not m.startswith("val_")]
    metrics.sort(key=lambda m: m != "loss")  # the loss first, as the tutorial shows it
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.0 * len(metrics), 4.0), squeeze=False)
    for ax, metric in zip(axes.flat, metrics, strict=True):
        name = metric.replace("_", " ")
        ax.plot(
            history["epoch"], history[metric], "o-", color="0.1", label="training part (mean over the epoch)"
        )
        title = f"{name.capitalize()} per epoch"
        if f"val_{metric}" in history:
            ax.plot(
                history["epoch"],
                history[f"val_{metric}"],
                "s--",
                color="tab:blue",
                label=f"{validation} (after the epoch)",
            )
            title += f"; last {validation}: {history[f'val_{metric}'].iloc[-1]:.4f}"
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if metric == "loss" and history.filter(like="loss").to_numpy().min() > 0:
            ax.set_yscale("log")  # unscaled pixels: the first epoch's loss is many times the last's
            ax.set_ylabel("loss (log scale)")
            ax.yaxis.set_major_formatter(FuncFormatter(_plain))
            bottom, top = ax.get_ylim()
            ax.yaxis.set_minor_formatter(
                FuncFormatter(_plain_235 if np.log10(top / bottom) < 1.5 else _no_label)
            )
        ax.grid(True, color="0.85")
        ax.legend()
    fig.tight_layout()
    save_figure(fig, path)


def plot_class_scores(report: pd.DataFrame, path) -> None:
    """Precision, recall and F1 of each class as grouped bars, shaded and hatched apart."""
    classes = [c for c in report.index if str(c).isdigit()]
    scores = report.loc[classes, ["precision", "recall", "f1-score"]].astype(float)
    low = scores.to_numpy().min()
    bottom = max(0.0, np.floor((low - 0.02) * 20) / 20)  # start near the lowest bar, on a 0.05 step
    x = np.arange(len(classes))
    width = 0.27
    fig, ax = plt.subplots(figsize=(10, 4.5))
    styles = {"precision": ("0.2", ""), "recall": ("0.55", "//"), "f1-score": ("0.85", "..")}
    names = {"precision": "precision", "recall": "recall", "f1-score": "F1"}
    for i, (name, (shade, hatch)) in enumerate(styles.items()):
        ax.bar(
            x + (i - 1) * width,
            scores[name] - bottom,
            width,
            bottom=bottom,
            color=shade,
            hatch=hatch,
            edgecolor="black",
            linewidth=0.5,
            label=names[name],
        )
    ax.set_xticks(x, classes)
    ax.set_xlabel("class (digit)")
    ax.set_ylabel("score" + (f" (axis starts at {bottom:.2f})" if bottom else ""))
    ax.set_ylim(bottom, 1.0)
    ax.grid(True, axis="y", color="0.85")
    ax.set_axisbelow(True)
    ax.legend(ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.13), frameon=False)
    accuracy = report.loc["accuracy", "f1-score"] if "accuracy" in report.index else np.nan
    ax.set_title(f"Precision, recall and F1 per class on the test images (accuracy {accuracy:.4f})")
    fig.tight_layout()
    save_figure(fig, path)


def misclassified_table(labels: np.ndarray, probabilities: np.ndarray) -> pd.DataFrame:
    """Every wrongly predicted test image, the most confident mistake first.

    Columns: the image's row in X_test.tsv (from 1), its true class, the predicted class, the
    predicted class's probability and the probability given to the true class.
    """
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    table = pd.DataFrame(
        {
            "row": wrong + 1,
            "true_class": labels[wrong],
            "predicted_class": predicted[wrong],
            "probability": probabilities[wrong, predicted[wrong]],
            "probability_of_true_class": probabilities[wrong, labels[wrong]],
        }
    )
    return table.sort_values("probability", ascending=False, kind="stable").reset_index(drop=True)


def _floor(probability: float, digits: int = 4) -> str:
    """Rounded down: 0.99996 reads 0.9999, not 1.0000 (a wrong prediction is never certain)."""
    return f"{np.floor(probability * 10**digits) / 10**digits:.{digits}f}"


def plot_misclassified(
    images: np.ndarray, mistakes: pd.DataFrame, n_test: int, path, input_shape, rows: int = 4, cols: int = 10
) -> None:
    """The first ``rows * cols`` mistakes of ``misclassified_table``: image, true, predicted, p."""
    shape = picture_shape(input_shape)
    if shape is None:
        title = f"{len(mistakes)} mistakes on {n_test} test images (all in misclassified.tsv)"
        return plot_message(path, title, _not_a_picture(input_shape))
    shown = mistakes.head(rows * cols)
    grid = TileGrid(max(1, -(-len(shown) // cols)), cols, inch=0.9, title_lines=2, fontsize=8, shape=shape)
    for i, mistake in enumerate(shown.itertuples()):
        grid.digit(i // cols, i % cols, images[mistake.row - 1], shape)
        grid.title(
            i // cols,
            i % cols,
            f"true {mistake.true_class}, pred. {mistake.predicted_class}\np = {_floor(mistake.probability)}",
        )
    if shown.empty:
        grid.ax.text(0.5, 0.5, "no mistakes", ha="center", va="center", transform=grid.ax.transAxes)
    grid.save(
        f"The {len(shown)} most confident of {len(mistakes)} mistakes on {n_test} test images "
        "(p: predicted probability of the wrong class)",
        path,
    )


def plot_filters(kernels: np.ndarray, path, layer_name: str) -> None:
    """Each filter of a Conv2D layer on one input channel, as a small image (kh, kw, 1, n)."""
    n = kernels.shape[-1]
    cols = min(16, n)
    limit = float(np.abs(kernels).max()) or 1.0
    grid = TileGrid(-(-n // cols), cols, inch=0.56, fontsize=8, shape=kernels.shape[:2])
    for i in range(n):
        grid.image(i // cols, i % cols, kernels[:, :, 0, i], GREYS, -limit, limit)
        grid.title(i // cols, i % cols, str(i + 1))
    grid.save(
        f"The {n} learned {kernels.shape[0]}x{kernels.shape[1]} filters of {layer_name}, the first "
        f"convolution layer\n(black: most negative weight, mid-grey: 0, white: most positive; "
        f"one scale, ±{limit:.3g})",
        path,
    )


def distinct_filters(maps: np.ndarray, n: int) -> np.ndarray:
    """``n`` filters, active and unlike each other on these images, in filter order.

    Candidates are the more active half of the filters (a filter that barely fires on digits
    shows black squares); among them the most active comes first, then again and again the one
    whose maps are least correlated with those of any filter already chosen: so the figure shows
    different features, not eight copies of the digit.
    """
    flat = maps.reshape(-1, maps.shape[-1])
    activity = flat.mean(axis=0)
    ranked = [f for f in np.argsort(activity, kind="stable")[::-1] if flat[:, f].std() > 0]
    candidates = np.array(ranked[: max(n, len(ranked) // 2)])
    if len(candidates) <= n:
        return np.sort(candidates)
    correlation = np.abs(np.corrcoef(flat[:, candidates], rowvar=False))
    chosen = [0]  # the most active
    while len(chosen) < n:
        closest = correlation[:, chosen].max(axis=1)
        closest[chosen] = np.inf
        chosen.append(int(np.argmin(closest)))
    return np.sort(candidates[chosen])


def plot_feature_maps(
    digits: np.ndarray,
    labels: np.ndarray,
    maps: np.ndarray,
    kernels: np.ndarray,
    path,
    layer_name: str,
    input_shape,
    n_filters: int = 8,
) -> None:
    """A column per digit: the image on top, below it its feature maps from ``n_filters`` distinct filters.

    ``maps`` holds the layer's output for ``digits`` (images, height, width, filters). Each row
    starts with its filter, so a map can be read against the filter that made it. Rows of filters
    (not of digits) keep the figure low enough to fit a screen: the report centres it vertically.
    """
    chosen = distinct_filters(maps, n_filters)
    shape = picture_shape(input_shape)
    grid = TileGrid(
        len(chosen) + 1, len(digits) + 1, inch=0.73, fontsize=8, titled_rows={0}, shape=maps.shape[1:3]
    )
    limit = float(np.abs(kernels[:, :, 0, chosen]).max()) or 1.0
    grid.text(0, 0, "input\nimage")
    for j, (digit, label) in enumerate(zip(digits, labels, strict=True), start=1):
        grid.digit(0, j, digit, shape)
        grid.title(0, j, f"digit {label}")
    for i, f in enumerate(chosen, start=1):
        grid.image(i, 0, kernels[:, :, 0, f], GREYS, -limit, limit)
        left, _, bottom, top = grid.box(i, 0)
        grid.ax.text(
            left - 0.05,
            (bottom + top) / 2,
            f"filter {f + 1}",
            rotation=90,
            ha="right",
            va="center",
            fontsize=8,
        )
        for j in range(1, len(digits) + 1):
            grid.image(i, j, maps[j - 1, :, :, f], GREYS, 0, max(maps[:, :, :, f].max(), 1e-9))
    grid.save(
        f"Feature maps of {layer_name}, the first convolution layer, for one test image of each digit:\n"
        f"{len(chosen)} of its {maps.shape[-1]} filters, chosen to differ (white: strong activation, "
        "black: none; one scale per row)",
        path,
        fontsize=9.5,
    )


APPLIED_SHOWN = 168  # images in the figure of your own digits: 14 rows of 12


def short_name(name: str, length: int = 14) -> str:
    """A file name that fits above a panel: its start and end around an ellipsis when too long."""
    name = str(name)
    return name if len(name) <= length else f"{name[: length - 6]}…{name[-5:]}"


def plot_applied_digits(originals: list, digits: np.ndarray, predictions: pd.DataFrame, path) -> plt.Figure:
    """Each image (a PIL image, as its file shows it) beside its 28x28 version, with the predicted
    digit and its probability; the first ``APPLIED_SHOWN`` of ``predictions`` and a note when there
    are more. About 1000 px wide: 6 pairs a row, 12 when there are more than 36 images."""
    n = min(len(originals), APPLIED_SHOWN)
    cols = min(6 if n <= 36 else 12, n)
    rows = -(-n // cols)
    side = 4.8 / max(cols, 6)  # inches per panel
    fig, axes = plt.subplots(
        rows, 2 * cols, figsize=(2 * cols * side, rows * (side + 0.13) + 0.5), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i // 2 >= n:
            ax.axis("off")
        elif i % 2 == 0:
            ax.imshow(originals[i // 2].convert("RGBA"))
            ax.set_title(short_name(predictions.iloc[i // 2]["image"]), fontsize=7, pad=2)
        else:
            row = predictions.iloc[i // 2]
            ax.imshow(digits[i // 2].reshape(28, 28), cmap=INK, vmin=0, vmax=255)
            ax.set_title(f"{row['Predicted']}  {row['probability']:.2f}", fontsize=7, pad=2, weight="bold")
    shown = f"the first {n} of {len(predictions)}" if n < len(predictions) else f"all {n}"
    fig.suptitle(
        f"Your images ({shown}, by file name), each beside its 28x28 MNIST version, "
        "with the predicted digit and its probability",
        fontsize=9,
    )
    fig.tight_layout(pad=0.3)
    save_figure(fig, path)
    return fig
