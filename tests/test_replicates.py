"""Replicates: each run trained N times with the next seeds, summarised with confidence intervals."""

import json
import re
import shutil
import struct
import zlib
from itertools import combinations

import pandas as pd
import pytest
from scipy import stats
from workflow_runner import PER_RUN_JOBS, REPO, run_snakemake

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
REPLICATES = 3
SEED = 5
SWEEP = {"fit": {"epochs": 1}, "random_seed": SEED, "replicates": REPLICATES, "experiments": DENSE}
# What rule compare writes with replicates of two experiments; the sweep makes only these and
# what they need (rule all's figures for each replicate would take three times as many jobs).
COMPARED = [
    f"results/experiments/{name}"
    for name in ("comparison.tsv", "comparison.png", "timings.tsv", "replicates.tsv", "differences.tsv")
]


def png_is_valid(path):
    """Every chunk of the PNG has its length and CRC right, from IHDR to IEND; (width, height)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, kinds = 8, []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        kinds.append(kind)
        offset += 12 + length
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    return struct.unpack(">II", data[16:24])


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
    """Two experiments, three replicates each, seeds 5 to 7, one epoch on the sample."""
    workdir = tmp_path_factory.mktemp("replicates")
    (workdir / "resources").symlink_to(REPO / "resources")
    result = run_snakemake(workdir, SWEEP, *COMPARED, configfiles=(SAMPLE_YAML,))
    assert result.returncode == 0, result.output
    return workdir, result.output


def runs_of(workdir):
    """{(experiment, replicate): folder} of the sweep."""
    return {
        (name, i): workdir / "results" / "experiments" / name / f"replicate_{i}"
        for name in DENSE
        for i in range(1, REPLICATES + 1)
    }


def test_each_replicate_ran_as_its_own_jobs_with_its_seed(sweep):
    workdir, output = sweep
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", output.split("Job stats:")[1], flags=re.M))
    runs = len(DENSE) * REPLICATES
    per_run = ["model_config", "model_builder", "train", "predict", "evaluate"]
    assert counts == {
        **{job: str(runs) for job in per_run},
        "check_data": "2",
        "compare": "1",
        "total": str(runs * len(per_run) + 3),
    }
    for (name, i), run in runs_of(workdir).items():
        builder = json.loads((run / "model" / "model_builder.json").read_text())
        assert builder["random_seed"] == SEED + i - 1
        assert (workdir / "logs" / "experiments" / name / f"replicate_{i}" / "train.log").stat().st_size > 0
    # different seeds, different weights: the replicates are not copies of one run
    first, second = ((runs_of(workdir)[("narrow", i)] / "model" / "weights.h5").read_bytes() for i in (1, 2))
    assert first != second
    # rule all asks for every file of a run, the report's figures included, for each replicate
    result = run_snakemake(workdir, SWEEP, "--dry-run", configfiles=(SAMPLE_YAML,))
    assert result.returncode == 0, result.output
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", result.output.split("Job stats:")[1], flags=re.M))
    assert {job: counts.get(job) for job in PER_RUN_JOBS if job not in per_run} == {
        job: str(runs) for job in PER_RUN_JOBS if job not in per_run
    }
    assert "results/experiments/wide/replicate_3/roc_curves.png" in result.output


def replicate_values(workdir):
    """Each replicate's accuracies and training time, read from its own files."""
    rows = []
    for (name, i), run in runs_of(workdir).items():
        report = pd.read_csv(run / "classification_report.tsv", sep="\t", index_col=0)
        metrics = pd.read_csv(run / "model" / "train_metrics.tsv", sep="\t").iloc[0]
        benchmark = workdir / "benchmarks" / "experiments" / name / f"replicate_{i}" / "train.tsv"
        rows.append(
            {
                "experiment": name,
                "replicate": i,
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
    assert table.index.tolist() == list(DENSE)
    assert "train_seconds" not in " ".join(table.columns)  # wall times are in timings.tsv
    for name in DENSE:
        assert table.loc[name, "replicates"] == REPLICATES
        for column in ("test_accuracy", "holdout_accuracy"):
            replicates = values.loc[values["experiment"] == name, column]
            assert replicates.nunique() > 1  # the seeds make a spread: the interval has a width
            for statistic, value in expected_summary(replicates).items():
                assert table.loc[name, f"{column}_{statistic}"] == pytest.approx(value, rel=1e-5), statistic
            assert table.loc[name, f"{column}_ci95_low"] < table.loc[name, f"{column}_mean"]
    timings = pd.read_csv(workdir / "results" / "experiments" / "timings.tsv", sep="\t", index_col=0)
    for name in DENSE:
        replicates = values.loc[values["experiment"] == name, "train_seconds"]
        for statistic, value in expected_summary(replicates).items():
            assert timings.loc[name, f"train_seconds_{statistic}"] == pytest.approx(value, rel=1e-5)
    per_replicate = pd.read_csv(workdir / "results" / "experiments" / "replicates.tsv", sep="\t")
    assert per_replicate[["experiment", "replicate", "seed"]].values.tolist() == [
        [name, i, SEED + i - 1] for name in DENSE for i in range(1, REPLICATES + 1)
    ]
    assert per_replicate["test_accuracy"].tolist() == pytest.approx(
        values["test_accuracy"].tolist(), rel=1e-5
    )
    assert "train_seconds" not in per_replicate.columns


def test_differences_are_welch_intervals_of_each_pair(sweep):
    workdir, _ = sweep
    differences = pd.read_csv(workdir / "results" / "experiments" / "differences.tsv", sep="\t")
    values = replicate_values(workdir)
    expected = []
    for first, second in combinations(DENSE, 2):
        for column in ("test_accuracy", "holdout_accuracy"):
            one = values.loc[values["experiment"] == first, column]
            two = values.loc[values["experiment"] == second, column]
            # Welch by hand: the interval of the difference with Welch-Satterthwaite's degrees of freedom
            v1, v2 = one.var(ddof=1) / len(one), two.var(ddof=1) / len(two)
            df = (v1 + v2) ** 2 / (v1**2 / (len(one) - 1) + v2**2 / (len(two) - 1))
            half = stats.t.ppf(0.975, df) * (v1 + v2) ** 0.5
            difference = one.mean() - two.mean()
            low, high = difference - half, difference + half
            expected.append([first, second, column.removesuffix("_accuracy"), difference, low, high, df])
            expected[-1].append(bool(low > 0 or high < 0))
    assert differences[["experiment", "versus", "accuracy"]].values.tolist() == [row[:3] for row in expected]
    for row, want in zip(differences.itertuples(), expected, strict=True):
        assert [row.difference, row.ci95_low, row.ci95_high, row.welch_df] == pytest.approx(
            want[3:7], rel=1e-4
        )
        assert row.supported == want[7]
        assert 0 <= row.p_value <= 1


def test_figure_shows_the_replicates(sweep):
    workdir, _ = sweep
    width, height = png_is_valid(workdir / "results" / "experiments" / "comparison.png")
    assert 800 < width <= 1300 and 150 < height <= 850


def test_report_shows_the_replicates_and_intervals(sweep):
    workdir, _ = sweep
    result = run_snakemake(
        workdir, SWEEP, "--report", "results/report.html", *COMPARED, configfiles=(SAMPLE_YAML,)
    )
    assert result.returncode == 0, result.output
    report = (workdir / "results" / "report.html").read_text()
    for path in COMPARED:
        assert path in report
    assert "Each experiment trained 3 times on the same data" in report
    assert "95% confidence interval of the mean" in report and "Welch" in report
    assert "results/experiments/wide/replicate_3/confusion_matrix.png" in report
    assert '{"result": "Confusion matrix", "experiment": "wide", "replicate": "3"}' in report


def test_report_without_targets(sweep, tmp_path):
    """``snakemake --report`` with no targets, as after a plain ``snakemake``: rule all's files, the
    comparison's among them (on a copy of the sweep, made whole first)."""
    workdir = tmp_path / "replicates"
    shutil.copytree(sweep[0], workdir, symlinks=True)
    result = run_snakemake(workdir, SWEEP, configfiles=(SAMPLE_YAML,))
    assert result.returncode == 0, result.output
    assert "rule train:" not in result.output  # trained already: only the report's figures are made
    result = run_snakemake(workdir, SWEEP, "--report", "results/report.html", configfiles=(SAMPLE_YAML,))
    assert result.returncode == 0, result.output
    report = (workdir / "results" / "report.html").read_text()
    for path in COMPARED:
        assert path in report
    assert "Each experiment trained 3 times on the same data" in report


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
