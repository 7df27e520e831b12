"""Replicates: each run trained N times with the next seeds, summarised with confidence intervals."""

import json
import math
import re
import shutil
from itertools import combinations

import matplotlib.collections
import pandas as pd
import pytest
from png_files import png_size
from scipy import stats
from workflow_runner import REPO, per_run_jobs, run_snakemake

from mnist_cnn.comparison import (
    COLUMNS,
    INTERVAL_COLUMNS,
    comparison_table,
    differences_table,
    four_digits,
    plot_replicates,
    replicate_table,
)
from mnist_cnn.experiments import experiment_name, replicate_number, replicate_prefix, run_configs

SAMPLE_YAML = REPO / "config" / "sample.yaml"
MY_DIGITS = REPO / "resources" / "my_digits" / "images"
# Two small dense models, one epoch on the sample in resources/: quick, and different enough.
# (In name order: the test's config file is written with sorted keys.)
DENSE = {
    name: {"model": {"layers": [{"type": "Rescaling", "args": {"scale": 1 / 255}},
                                {"type": "Dense", "args": {"units": units, "activation": "relu"}},
                                {"type": "Dense", "args": {"units": 10, "activation": "softmax"}}]}}
    for name, units in (("narrow", 4), ("wide", 64))
}  # fmt: skip
# Two replicates: the least that has a spread, a t interval and a paired test (the statistics are
# checked against SciPy's on each replicate's files, whatever the count).
REPLICATES = 2
SEED = 5
# The wide model again from seeds 20 and 21: its replicates do not pair with the others' by seed.
EXPERIMENTS = {**DENSE, "wide_seed_20": {**DENSE["wide"], "random_seed": 20}}
FIRST_SEED = {"narrow": SEED, "wide": SEED, "wide_seed_20": 20}
SWEEP = {"fit": {"epochs": 1}, "random_seed": SEED, "replicates": REPLICATES, "experiments": EXPERIMENTS}
# What rule compare writes with replicates of several experiments; the sweep makes only these and
# what they need (rule all's figures for each replicate would take three times as many jobs).
COMPARED = [
    f"results/experiments/{name}"
    for name in ("comparison.tsv", "comparison.png", "timings.tsv", "replicates.tsv", "differences.tsv")
]


# --- prefixes and seeds -----------------------------------------------------------------------


def test_one_replicate_keeps_the_paths_and_configs():
    base = {"random_seed": 3, "replicates": 1}
    assert run_configs({None: base}, 1) == {"": base}
    assert run_configs({"a": base, "b": base}, 1) == {"experiments/a/": base, "experiments/b/": base}


def test_replicates_get_their_own_folders_and_the_next_seeds():
    runs = run_configs({"a": {"random_seed": 3, "replicates": 2}, "b": {"random_seed": 7}}, 2)
    assert {prefix: run["random_seed"] for prefix, run in runs.items()} == {
        "experiments/a/replicate_1/": 3,
        "experiments/a/replicate_2/": 4,
        "experiments/b/replicate_1/": 7,
        "experiments/b/replicate_2/": 8,
    }
    assert all(run["replicates"] == 1 for run in runs.values())  # its config.yaml repeats one run
    single = run_configs({None: {"random_seed": 0}}, 3)
    assert list(single) == [f"replicates/replicate_{i}/" for i in (1, 2, 3)]
    assert [experiment_name(p) for p in single] == [None] * 3
    assert [replicate_number(p) for p in single] == [1, 2, 3]
    assert experiment_name(replicate_prefix("experiments/a/", 2)) == "a"
    assert replicate_number("experiments/a/") is None and replicate_number("") is None


# --- the real sweep with replicates -----------------------------------------------------------


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """Three experiments, two replicates each, seeds 5 and 6 (20 and 21 for wide_seed_20), one epoch
    on the sample."""
    workdir = tmp_path_factory.mktemp("replicates")
    (workdir / "resources").symlink_to(REPO / "resources")
    result = run_snakemake(workdir, SWEEP, *COMPARED, configfiles=(SAMPLE_YAML,))
    assert result.returncode == 0, result.output
    return workdir, result.output


def runs_of(workdir):
    """{(experiment, replicate): folder} of the sweep."""
    return {
        (name, i): workdir / "results" / "experiments" / name / f"replicate_{i}"
        for name in EXPERIMENTS
        for i in range(1, REPLICATES + 1)
    }


def test_each_replicate_ran_as_its_own_jobs_with_its_seed(sweep):
    workdir, output = sweep
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", output.split("Job stats:")[1], flags=re.M))
    runs = len(EXPERIMENTS) * REPLICATES
    per_run = ["model_config", "model_builder", "train", "export_onnx", "predict", "evaluate"]
    assert counts == {
        **{job: str(runs) for job in per_run},
        "check_data": "2",
        "compare": "1",
        "total": str(runs * len(per_run) + 3),
    }
    for (name, i), run in runs_of(workdir).items():
        builder = json.loads((run / "model" / "model_builder.json").read_text())
        assert builder["random_seed"] == FIRST_SEED[name] + i - 1
        assert (workdir / "logs" / "experiments" / name / f"replicate_{i}" / "train.log").stat().st_size > 0
    # different seeds, different weights: the replicates are not copies of one run
    first, second = ((runs_of(workdir)[("narrow", i)] / "model" / "weights.h5").read_bytes() for i in (1, 2))
    assert first != second
    # rule all asks for every file of a run, the report's figures included, for each replicate
    result = run_snakemake(workdir, SWEEP, "--dry-run", configfiles=(SAMPLE_YAML,))
    assert result.returncode == 0, result.output
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", result.output.split("Job stats:")[1], flags=re.M))
    assert {job: counts.get(job) for job in per_run_jobs() if job not in per_run} == {
        job: str(runs) for job in per_run_jobs() if job not in per_run
    }
    assert f"results/experiments/wide/replicate_{REPLICATES}/roc_curves.png" in result.output


def replicate_values(workdir):
    """Each replicate's seed, accuracies and training time, read from its own files."""
    rows = []
    for (name, i), run in runs_of(workdir).items():
        report = pd.read_csv(run / "classification_report.tsv", sep="\t", index_col=0)
        metrics = pd.read_csv(run / "model" / "train_metrics.tsv", sep="\t").iloc[0]
        benchmark = workdir / "benchmarks" / "experiments" / name / f"replicate_{i}" / "train.tsv"
        rows.append(
            {
                "experiment": name,
                "replicate": i,
                "seed": json.loads((run / "model" / "model_builder.json").read_text())["random_seed"],
                "test_accuracy": report.loc["accuracy", "f1-score"],
                "holdout_accuracy": metrics["accuracy"],
                "train_seconds": pd.read_csv(benchmark, sep="\t")["s"].mean(),
            }
        )
    return pd.DataFrame(rows)


def expected_summary(values):
    n = len(values)
    mean, sd = values.mean(), values.std(ddof=1)
    low, high = stats.t.interval(0.95, df=n - 1, loc=mean, scale=sd / n**0.5)
    return {
        "mean": mean,
        "sd": sd,
        "min": values.min(),
        "max": values.max(),
        "ci95_low": low,
        "ci95_high": high,
    }


def test_comparison_gives_mean_sd_min_max_and_t_interval_of_each_accuracy(sweep):
    workdir, _ = sweep
    table = pd.read_csv(workdir / "results" / "experiments" / "comparison.tsv", sep="\t", index_col=0)
    values = replicate_values(workdir)
    assert table.index.tolist() == list(EXPERIMENTS)
    assert "train_seconds" not in " ".join(table.columns)  # wall times are in timings.tsv
    for name in EXPERIMENTS:
        assert table.loc[name, "replicates"] == REPLICATES
        for column in ("test_accuracy", "holdout_accuracy"):
            replicates = values.loc[values["experiment"] == name, column]
            assert replicates.nunique() > 1  # the seeds make a spread: the interval has a width
            for statistic, value in expected_summary(replicates).items():
                assert table.loc[name, f"{column}_{statistic}"] == pytest.approx(value, rel=1e-3), statistic
            assert table.loc[name, f"{column}_ci95_low"] < table.loc[name, f"{column}_mean"]
    timings = pd.read_csv(workdir / "results" / "experiments" / "timings.tsv", sep="\t", index_col=0)
    for name in EXPERIMENTS:
        replicates = values.loc[values["experiment"] == name, "train_seconds"]
        for statistic, value in expected_summary(replicates).items():
            if "ci95" in statistic:  # a time's spread is the machine's load: no interval
                assert f"train_seconds_{statistic}" not in timings.columns
            else:
                assert timings.loc[name, f"train_seconds_{statistic}"] == pytest.approx(value, rel=1e-3)
    per_replicate = pd.read_csv(workdir / "results" / "experiments" / "replicates.tsv", sep="\t")
    assert per_replicate[["experiment", "replicate", "seed"]].values.tolist() == [
        [name, i, FIRST_SEED[name] + i - 1] for name in EXPERIMENTS for i in range(1, REPLICATES + 1)
    ]
    assert per_replicate["test_accuracy"].tolist() == pytest.approx(
        values["test_accuracy"].tolist(), rel=1e-3
    )
    assert "train_seconds" not in per_replicate.columns


def test_differences_are_paired_where_the_seeds_pair_and_welch_where_not(sweep):
    workdir, _ = sweep
    differences = pd.read_csv(workdir / "results" / "experiments" / "differences.tsv", sep="\t")
    values = replicate_values(workdir)
    expected = []
    for first, second in combinations(EXPERIMENTS, 2):
        one, two = (values[values["experiment"] == name].sort_values("replicate") for name in (first, second))
        paired = one["seed"].tolist() == two["seed"].tolist()  # replicate i of both had the same seed
        for column in INTERVAL_COLUMNS:
            a, b = one[column].to_numpy(), two[column].to_numpy()
            assert len(set(a - b) if paired else set(a) | set(b)) > 1  # a spread to test
            test = stats.ttest_rel(a, b) if paired else stats.ttest_ind(a, b, equal_var=False)
            low, high = test.confidence_interval(0.95)
            kind = "paired" if paired else "Welch"
            row = [first, second, column.removesuffix("_accuracy"), kind, a.mean() - b.mean(), low, high]
            expected.append([*row, test.df, test.pvalue, bool(low > 0 or high < 0)])
    assert [row[3] for row in expected] == ["paired"] * 2 + ["Welch"] * 4  # narrow and wide pair
    columns = ["experiment", "versus", "accuracy", "test"]
    assert differences[columns].values.tolist() == [row[:4] for row in expected]
    for row, want in zip(differences.itertuples(), expected, strict=True):
        assert [row.difference, row.ci95_low, row.ci95_high, row.df, row.p_value] == pytest.approx(
            want[4:9], rel=1e-3
        )
        assert row.supported == want[9]


def replicates_of(values: dict) -> pd.DataFrame:
    """replicate_table() of experiments given as {name: (seeds, test accuracies, holdout accuracies)}."""
    rows = [
        {"experiment": name, "replicate": i, "seed": seed, "test_accuracy": test, "holdout_accuracy": holdout}
        | {column: 1 for column in COLUMNS if column not in INTERVAL_COLUMNS}
        | {"train_seconds": 10.0 + i}
        for name, runs in values.items()
        for i, (seed, test, holdout) in enumerate(zip(*runs, strict=True), start=1)
    ]
    return replicate_table(rows)


def test_no_variation_is_reported_as_such_never_as_a_difference():
    # issue 20: the same test accuracy in every replicate; holdout accuracies that differ by the
    # same 0.0031 in each pair of replicates (by 1e-16 after float rounding)
    replicates = replicates_of(
        {
            "one": ([5, 6, 7], [0.918] * 3, [0.9088, 0.9432, 0.9271]),
            "two": ([5, 6, 7], [0.92] * 3, [0.9057, 0.9401, 0.924]),
            "other_seeds": ([8, 9, 10], [0.92] * 3, [0.91, 0.93, 0.94]),
        }
    )
    differences = differences_table(replicates)
    none, welch = "no variation", "Welch"
    assert differences["test"].tolist() == [none, none, none, welch, none, welch]
    untested = differences[differences["test"] == none]
    assert untested["difference"].tolist() == pytest.approx([-0.002, 0.0031, -0.002, 0.0])
    assert untested[["ci95_low", "ci95_high", "df", "p_value"]].isna().all().all()
    assert not untested["supported"].any()
    # Welch's test where one side varies: as SciPy gives it
    test = stats.ttest_ind([0.9057, 0.9401, 0.924], [0.91, 0.93, 0.94], equal_var=False)
    assert differences.iloc[5][["df", "p_value"]].tolist() == pytest.approx([test.df, test.pvalue])
    # the mean of replicates that do not vary has no interval, not one of width 0
    table = comparison_table(replicates)
    assert table[["test_accuracy_ci95_low", "test_accuracy_ci95_high"]].isna().all().all()
    assert table.loc["one", "holdout_accuracy_ci95_low"] < table.loc["one", "holdout_accuracy_mean"]


def test_interval_of_the_mean_of_two_replicates_has_one_degree_of_freedom():
    table = comparison_table(replicates_of({"one": ([0, 1], [0.91, 0.93], [0.90, 0.95])}))
    for column, values in (("test_accuracy", [0.91, 0.93]), ("holdout_accuracy", [0.90, 0.95])):
        low, high = stats.t.interval(0.95, df=1, loc=sum(values) / 2, scale=stats.tstd(values) / math.sqrt(2))
        assert table.loc["one", [f"{column}_ci95_low", f"{column}_ci95_high"]].tolist() == pytest.approx(
            [low, high]
        )


def test_figure_shows_the_replicates(sweep, tmp_path):
    workdir, _ = sweep
    width, height = png_size(workdir / "results" / "experiments" / "comparison.png")
    assert 800 < width <= 1300 and 150 < height <= 850
    # the figure the rule drew, from the tables it wrote: a point per replicate at its accuracy as
    # its own files give it, and per experiment a bar from one end of the interval to the other
    compared = workdir / "results" / "experiments"
    replicates = pd.read_csv(compared / "replicates.tsv", sep="\t", index_col=[0, 1])
    table = pd.read_csv(compared / "comparison.tsv", sep="\t", index_col=0)
    figure = plot_replicates(replicates, table, tmp_path / "comparison.png")
    values = replicate_values(workdir)
    for ax, column in zip(figure.axes, INTERVAL_COLUMNS, strict=True):
        points = [c for c in ax.collections if not isinstance(c, matplotlib.collections.LineCollection)]
        assert len(points) == len(EXPERIMENTS)  # one set of points per experiment, in config order
        for position, (name, collection) in enumerate(zip(EXPERIMENTS, points, strict=True)):
            x, y = collection.get_offsets().T
            want = values.loc[values["experiment"] == name, column]
            assert sorted(x) == pytest.approx(sorted(want), rel=1e-3)  # the tables' 4 digits
            assert abs(y - position).max() <= 0.15  # on the experiment's row, jittered
        (bars,) = [c for c in ax.collections if isinstance(c, matplotlib.collections.LineCollection)]
        ends = [sorted(segment[:, 0]) for segment in bars.get_segments()]
        for name, (low, high) in zip(EXPERIMENTS, ends, strict=True):
            want = expected_summary(values.loc[values["experiment"] == name, column])
            assert [low, high] == pytest.approx([want["ci95_low"], want["ci95_high"]], rel=1e-3)


def test_report_shows_the_replicates_and_intervals(sweep):
    workdir, _ = sweep
    result = run_snakemake(
        workdir, SWEEP, "--report", "results/report.html", *COMPARED, configfiles=(SAMPLE_YAML,)
    )
    assert result.returncode == 0, result.output
    report = (workdir / "results" / "report.html").read_text()
    for path in COMPARED:
        assert path in report
    assert f"Each experiment trained {REPLICATES} times on the same data" in report
    assert "95% confidence interval of the mean" in report and "Welch" in report
    assert f"results/experiments/wide/replicate_{REPLICATES}/confusion_matrix.png" in report
    shown = {"result": "Confusion matrix", "experiment": "wide", "replicate": str(REPLICATES)}
    assert json.dumps(shown) in report


def test_report_without_targets(sweep, tmp_path):
    """``snakemake --report`` with no targets, as after a plain ``snakemake``: rule all's files, the
    comparison's among them (on a copy of the sweep, made whole first, of two of its experiments:
    the report's figures of each replicate are what this run makes)."""
    workdir = tmp_path / "replicates"
    shutil.copytree(sweep[0], workdir, symlinks=True)
    two = {**SWEEP, "experiments": {name: DENSE[name] for name in ("narrow", "wide")}}
    result = run_snakemake(workdir, two, configfiles=(SAMPLE_YAML,))
    assert result.returncode == 0, result.output
    assert "rule train:" not in result.output  # trained already: only the report's figures are made
    result = run_snakemake(workdir, two, "--report", "results/report.html", configfiles=(SAMPLE_YAML,))
    assert result.returncode == 0, result.output
    report = (workdir / "results" / "report.html").read_text()
    for path in COMPARED:
        assert path in report
    assert f"Each experiment trained {REPLICATES} times on the same data" in report


def test_a_given_model_is_applied_once_whatever_the_replicates(sweep):
    """apply.model with replicates: one apply_model job, into results/applied/, and no agreement."""
    workdir, _ = sweep
    model = runs_of(workdir)[("wide", 1)] / "model" / "model.keras"
    config = {**SWEEP, "apply": {"images": str(MY_DIGITS), "model": str(model)}}
    result = run_snakemake(workdir, config, "--dry-run", "apply", configfiles=(SAMPLE_YAML,))
    assert result.returncode == 0, result.output
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", result.output.split("Job stats:")[1], flags=re.M))
    assert counts == {
        "convert_images": "1",
        "apply_model": "1",
        "applied_figure": "1",
        "apply": "1",
        "total": "4",
    }
    assert "output: results/applied/predictions.tsv" in result.output


# --- the single run ---------------------------------------------------------------------------


def dry_run_outputs(workdir, config):
    result = run_snakemake(workdir, config, "--dry-run", configfiles=(SAMPLE_YAML,))
    assert result.returncode == 0, result.output
    return result.output, re.findall(r"^    output: (.+)$", result.output, flags=re.M)


def test_single_run_with_one_replicate_is_as_it_was(tmp_path):
    (tmp_path / "resources").symlink_to(REPO / "resources")
    output, outputs = dry_run_outputs(tmp_path, {"replicates": 1})
    paths = ", ".join(outputs)
    assert "replicate" not in paths and "comparison" not in paths and "timings" not in paths
    assert "results/model/model.keras" in paths and "results/confusion_matrix.png" in paths
    assert "compare" not in output.split("Job stats:")[1]


def test_single_run_with_replicates_goes_below_results_replicates(tmp_path):
    (tmp_path / "resources").symlink_to(REPO / "resources")
    config = {"replicates": 2, "random_seed": 11}
    output, outputs = dry_run_outputs(tmp_path, config)
    paths = ", ".join(outputs)
    for i in (1, 2):
        assert f"results/replicates/replicate_{i}/model/model.keras" in paths
    assert "results/replicates/comparison.tsv" in paths and "results/replicates/timings.tsv" in paths
    assert "differences" not in paths  # one experiment: nothing to compare it with
    assert "results/model/" not in paths
    targets = [f"results/replicates/replicate_{i}/model/model_builder.json" for i in (1, 2)]
    result = run_snakemake(tmp_path, config, *targets, configfiles=(SAMPLE_YAML,))
    assert result.returncode == 0, result.output
    seeds = [json.loads((tmp_path / target).read_text())["random_seed"] for target in targets]
    assert seeds == [11, 12]


def test_tables_give_four_significant_digits_and_whole_counts():
    assert [four_digits(x) for x in (0.945278412, 0.00568753, 233.94, 30634.0, 2.0, 1.2345e-5)] == [
        "0.9453",
        "0.005688",
        "233.9",
        "30634",
        "2",
        "1.234e-05",
    ]
