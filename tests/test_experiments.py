"""Sweeps: experiments declared in the config, each run into results/experiments/<name>/, compared."""

import json
import re
import shutil
import textwrap

import keras
import pandas as pd
import pytest
import yaml
from png_files import png_size
from workflow_runner import REPO, per_run_jobs, run_snakemake

from mnist_cnn import InputError
from mnist_cnn.comparison import count_parameters, experiment_row, plot_comparison, replicate_table
from mnist_cnn.experiments import (
    deep_merge,
    experiment_config,
    experiment_name,
    experiment_prefix,
    merge_optimizer,
)
from mnist_cnn.model_config import build_model
from mnist_cnn.training import save_weights_h5

EXPERIMENTS_YAML = REPO / "config" / "experiments.yaml"
SAMPLE_YAML = REPO / "config" / "sample.yaml"
MY_DIGITS = REPO / "resources" / "my_digits" / "images"
GALAXY_JSON = REPO / "tests" / "data" / "galaxy_keras_2.3.1_cnn.json"
NAMES = ["tutorial_cnn", "galaxy_workflow_cnn", "fnn_500"]
COLUMNS = [
    "test_accuracy",
    "holdout_accuracy",
    "holdout_loss",
    "parameters",
    "epochs",
]
# What rule all asks for per experiment, below results/experiments/<name>/, and what it makes on the way.
RUN_FILES = [
    "model/model_config.json",
    "model/model_builder.json",
    "model/model.keras",
    "model/weights.h5",
    "model/train_metrics.tsv",
    "model/history.tsv",
    "predictions.tsv",
    "confusion_matrix.png",
    "confusion_matrix.tsv",
    "classification_report.tsv",
]
# The sample in resources/ with 2 epochs for every experiment (the Galaxy one sets 10 itself).
QUICK = {"fit": {"epochs": 2}, "experiments": {"galaxy_workflow_cnn": {"fit": {"epochs": 2}}}}


# --- merging an experiment's overrides -------------------------------------------------------


def test_deep_merge_merges_mappings_and_replaces_lists_and_values():
    base = {"fit": {"epochs": 2, "batch_size": 500}, "model": {"layers": [1, 2, 3], "input_shape": [784]}}
    merged = deep_merge(base, {"fit": {"epochs": 10}, "model": {"layers": [4]}, "random_seed": 3})
    assert merged == {
        "fit": {"epochs": 10, "batch_size": 500},
        "model": {"layers": [4], "input_shape": [784]},
        "random_seed": 3,
    }
    assert base == {
        "fit": {"epochs": 2, "batch_size": 500},
        "model": {"layers": [1, 2, 3], "input_shape": [784]},
    }
    merged["model"]["input_shape"].append(1)
    assert base["model"]["input_shape"] == [784]  # a copy, not shared


def test_deep_merge_with_nothing_is_an_equal_copy():
    base = {"compile": {"optimizer": {"type": "Adam", "args": {"learning_rate": 0.001}}}}
    merged = deep_merge(base, {})
    assert merged == base and merged["compile"] is not base["compile"]


ADAM = {"type": "Adam", "args": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "amsgrad": False}}
SGD = {"type": "SGD", "args": {"learning_rate": 0.01, "momentum": 0.9}}


def optimizer_layer(optimizer: dict) -> dict:
    return {"compile": {"optimizer": optimizer}}


def test_an_optimizer_s_args_belong_to_its_type():
    layers = [("config.yaml", optimizer_layer(ADAM)), ("sgd.yaml", optimizer_layer(SGD))]
    optimizer, notes = merge_optimizer(layers, "Adam")
    assert optimizer == SGD  # not Adam's beta_1, beta_2, amsgrad as well
    assert notes == {
        "sgd.yaml": "sgd.yaml sets compile.optimizer.type SGD in place of Adam, so Adam's args are left out: "
        "beta_1, beta_2, amsgrad (from config.yaml). SGD gets only the args set with it or after it"
    }
    # args without a type, and the same type again, merge key by key as config files do
    later = [("--config", optimizer_layer({"args": {"nesterov": True}})), ("x.yaml", optimizer_layer(SGD))]
    optimizer, notes = merge_optimizer([*layers, *later], "Adam")
    assert optimizer == {"type": "SGD", "args": {**SGD["args"], "nesterov": True}} and list(notes) == [
        "sgd.yaml"
    ]
    # a type without args gets none of the other's, learning_rate too; args before any type are the default's
    optimizer, notes = merge_optimizer(
        [
            ("a.yaml", optimizer_layer({"args": {"learning_rate": 0.1}})),
            ("b.yaml", optimizer_layer({"type": "SGD"})),
        ],
        "Adam",
    )
    assert optimizer == {"type": "SGD", "args": {}}
    assert "Adam's args are left out: learning_rate (from a.yaml)" in notes["b.yaml"]
    assert merge_optimizer([("a.yaml", {"fit": {"epochs": 3}})], "Adam") == ({}, {})


def test_an_experiment_s_own_model_and_optimizer_win():
    base = {
        "model": {"config_json": "cnn.json", "layers": [{"type": "Flatten"}]},
        "compile": {"optimizer": ADAM},
    }
    layers = [("config.yaml", base)]
    dense = [{"type": "Dense", "args": {"units": 10}}]
    merged, notes = experiment_config("fnn", base, {"model": {"layers": dense}}, layers, "Adam")
    assert merged["model"] == {"config_json": "", "layers": dense}
    assert notes == [
        "experiments.fnn sets model.layers: it is built from them, not from model.config_json (cnn.json) of the config"
    ]
    merged, notes = experiment_config("json", base, {}, layers, "Adam")
    assert merged == base and notes == []
    overrides = {"model": {"layers": dense, "config_json": "other.json"}}
    with pytest.raises(
        InputError, match=r"^experiments.both sets both model.layers and model.config_json \(other.json\)"
    ):
        experiment_config("both", base, overrides, layers, "Adam")
    merged, notes = experiment_config("sgd", base, optimizer_layer(SGD), layers, "Adam")
    assert merged["compile"]["optimizer"] == SGD and merged["model"] == base["model"]
    assert notes == [
        merge_optimizer([*layers, ("experiments.sgd", optimizer_layer(SGD))], "Adam")[1]["experiments.sgd"]
    ]
    assert "beta_1, beta_2, amsgrad (from config.yaml)" in notes[0]


def test_prefix_and_name():
    assert experiment_prefix("fnn_500") == "experiments/fnn_500/"
    assert experiment_name(experiment_prefix("fnn_500")) == "fnn_500"
    assert experiment_name("") is None


def test_galaxy_experiment_is_the_galaxy_workflow_config():
    experiments = yaml.safe_load(EXPERIMENTS_YAML.read_text())["experiments"]
    assert list(experiments) == NAMES
    assert experiments["galaxy_workflow_cnn"] == yaml.safe_load(
        (REPO / "config" / "galaxy_workflow.yaml").read_text()
    )
    assert experiments["tutorial_cnn"] == {}


# --- the comparison's parts -------------------------------------------------------------------


def test_count_parameters_counts_every_weight_as_keras_does(tmp_path):
    layers = [
        {"type": "Dense", "args": {"units": 16, "activation": "relu"}},
        {"type": "BatchNormalization"},  # 2 of its 4 weight vectors are not trainable
        {"type": "Dense", "args": {"units": 10, "activation": "softmax"}},
    ]
    model = build_model([784], layers)
    save_weights_h5(model, tmp_path / "weights.h5")
    assert count_parameters(tmp_path / "weights.h5") == model.count_params() == 784 * 16 + 16 + 4 * 16 + 170


def test_nothing_to_compare_is_an_error():
    with pytest.raises(InputError, match="no experiments to compare"):
        replicate_table([])


def test_metrics_without_loss_is_named(tmp_path):
    (tmp_path / "train_metrics.tsv").write_text("accuracy\n0.9\n")
    with pytest.raises(InputError, match=r"train_metrics.tsv: expected a column loss, found accuracy"):
        experiment_row("x", tmp_path / "train_metrics.tsv", *[tmp_path / "unused"] * 4)


# --- the real sweep ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """The three experiments of config/experiments.yaml on the sample in resources/, 2 epochs each."""
    workdir = tmp_path_factory.mktemp("sweep")
    (workdir / "resources").symlink_to(REPO / "resources")
    configfiles = (REPO / "config" / "sample.yaml", EXPERIMENTS_YAML)
    result = run_snakemake(workdir, QUICK, configfiles=configfiles)
    assert result.returncode == 0, result.output
    return workdir, result.output, configfiles


def test_each_experiment_ran_as_its_own_jobs(sweep):
    workdir, output, _ = sweep
    for name in NAMES:
        for path in RUN_FILES:
            assert (workdir / "results" / "experiments" / name / path).stat().st_size > 0, (name, path)
        for job in per_run_jobs():
            assert (workdir / "logs" / "experiments" / name / f"{job}.log").stat().st_size > 0
            assert (workdir / "benchmarks" / "experiments" / name / f"{job}.tsv").exists()
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", output.split("Job stats:")[1], flags=re.M))
    # the data is checked once for all experiments; everything after it once per experiment
    assert counts == {
        **{job: "3" for job in per_run_jobs()},
        "check_data": "2",
        "data_sample": "1",  # the training digits: shared data, drawn once
        "compare": "1",
        "all": "1",
        "total": "35",
    }
    # with experiments declared, the single run's outputs are not made
    assert sorted(p.name for p in (workdir / "results").iterdir()) == ["data", "experiments"]


def test_each_experiment_has_its_own_settings(sweep):
    workdir, _, _ = sweep
    runs = workdir / "results" / "experiments"

    def model(name):
        return keras.models.model_from_json((runs / name / "model" / "model_config.json").read_text())

    def builder(name):
        return json.loads((runs / name / "model" / "model_builder.json").read_text())

    assert model("tutorial_cnn").count_params() == 30_634  # padding same on the first Conv2D
    assert model("galaxy_workflow_cnn").count_params() == 27_114  # no padding
    fnn = model("fnn_500")
    assert [layer.__class__.__name__ for layer in fnn.layers] == ["Dense", "Dense"]
    assert fnn.layers[0].units == 500 and fnn.count_params() == 784 * 500 + 500 + 500 * 10 + 10
    # sample.yaml's batch size and QUICK's epochs reach every experiment; the Galaxy one keeps its split
    assert [builder(name)["fit"]["batch_size"] for name in NAMES] == [100, 100, 100]
    assert [builder(name)["fit"]["epochs"] for name in NAMES] == [2, 2, 2]
    assert [builder(name)["fit"]["validation_split"] for name in NAMES] == [0.0, 0.1, 0.0]


def test_comparison_table_agrees_with_each_experiment(sweep):
    workdir, _, _ = sweep
    table = pd.read_csv(workdir / "results" / "experiments" / "comparison.tsv", sep="\t", index_col=0)
    assert table.index.tolist() == NAMES and table.columns.tolist() == COLUMNS
    for name in NAMES:
        run = workdir / "results" / "experiments" / name
        row = table.loc[name]
        report = pd.read_csv(run / "classification_report.tsv", sep="\t", index_col=0)
        assert row["test_accuracy"] == pytest.approx(report.loc["accuracy", "f1-score"], abs=1e-6)
        assert row["test_accuracy"] > 0.5  # chance is 0.1
        metrics = pd.read_csv(run / "model" / "train_metrics.tsv", sep="\t").iloc[0]
        assert row["holdout_accuracy"] == pytest.approx(metrics["accuracy"], rel=1e-3)  # 4 digits
        assert row["holdout_loss"] == pytest.approx(metrics["loss"], rel=1e-3)
        model = keras.models.model_from_json((run / "model" / "model_config.json").read_text())
        assert row["parameters"] == model.count_params()
        assert row["epochs"] == len(pd.read_csv(run / "model" / "history.tsv", sep="\t")) == 2
    # the training times, which differ from run to run, apart from the results
    timings = pd.read_csv(workdir / "results" / "experiments" / "timings.tsv", sep="\t", index_col=0)
    assert timings.index.tolist() == NAMES and timings.columns.tolist() == ["train_seconds"]
    for name in NAMES:
        benchmark = pd.read_csv(workdir / "benchmarks" / "experiments" / name / "train.tsv", sep="\t")
        assert timings.loc[name, "train_seconds"] == pytest.approx(benchmark["s"].iloc[0], rel=1e-3)
        assert timings.loc[name, "train_seconds"] > 0
    width, height = png_size(workdir / "results" / "experiments" / "comparison.png")
    assert width > 1000 and height > 200


def test_changing_one_experiment_reruns_only_that_experiment(sweep):
    workdir, _, configfiles = sweep
    result = run_snakemake(workdir, QUICK, "--dry-run", configfiles=configfiles)
    assert result.returncode == 0 and "Nothing to be done" in result.output, result.output
    changed = deep_merge(QUICK, {"experiments": {"fnn_500": {"fit": {"batch_size": 50}}}})
    result = run_snakemake(workdir, changed, "--dry-run", configfiles=configfiles)
    assert result.returncode == 0, result.output
    outputs = re.findall(r"^    output: (\S+)", result.output, flags=re.M)
    assert "results/experiments/fnn_500/model/model_builder.json" in outputs
    assert "results/experiments/comparison.tsv" in " ".join(outputs)
    assert not [path for path in outputs if "tutorial_cnn" in path or "galaxy_workflow_cnn" in path]


def test_plot_comparison_of_the_sweep(sweep, tmp_path):
    workdir, _, _ = sweep
    table = pd.read_csv(workdir / "results" / "experiments" / "comparison.tsv", sep="\t", index_col=0)
    plot_comparison(table.iloc[:2], tmp_path / "two.png")
    _, height_two = png_size(tmp_path / "two.png")
    _, height_three = png_size(workdir / "results" / "experiments" / "comparison.png")
    assert height_three > height_two  # a bar per experiment


def test_the_report_of_the_sweep_without_targets(sweep, tmp_path):
    """``snakemake --report`` as the README gives it, no targets: rule all asks for the comparison."""
    workdir, _, configfiles = sweep
    page = tmp_path / "sweep_report.html"
    result = run_snakemake(workdir, QUICK, "--report", str(page), configfiles=configfiles)
    assert result.returncode == 0, result.output
    entries = embedded(page.read_text(), "results")
    assert (
        "The experiments of the config side by side"
        in entries["results/experiments/comparison.tsv"]["caption"]
    )
    assert {"results/experiments/comparison.png", "results/experiments/timings.tsv"} <= entries.keys()


def embedded(page: str, script_id: str) -> dict:
    """A table the report's JavaScript app reads (``var name = {...};`` in a script element)."""
    start = page.index(f'<script id="{script_id}">')
    block = page[page.index(">", start) + 1 : page.index("</script>", start)]
    return json.loads(block.split("=", 1)[1].strip().removesuffix(";"))


def jobs_run(output: str) -> dict[str, int]:
    """How many jobs of each rule snakemake ran or plans, from its job stats."""
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", output.split("Job stats:")[1], flags=re.M))
    return {rule: int(count) for rule, count in counts.items() if rule != "total"}


def test_a_given_model_is_applied_once_beside_the_experiments(sweep, tmp_path):
    """apply.model with experiments: one model, one apply_model job into results/applied/, no agreement."""
    workdir = tmp_path / "sweep"
    shutil.copytree(sweep[0], workdir, symlinks=True)
    model = workdir / "results" / "experiments" / "fnn_500" / "model" / "model.keras"
    config = deep_merge(QUICK, {"apply": {"images": str(MY_DIGITS), "model": str(model)}})
    configfiles = sweep[2]
    result = run_snakemake(workdir, config, "--dry-run", "apply", configfiles=configfiles)
    assert result.returncode == 0, result.output
    assert jobs_run(result.output) == {"convert_images": 1, "apply_model": 1, "applied_figure": 1, "apply": 1}
    # not under an experiment's name: that would be a copy of the same model's predictions
    target = "results/experiments/tutorial_cnn/applied/predictions.tsv"
    result = run_snakemake(workdir, config, "--dry-run", target, configfiles=configfiles)
    assert result.returncode != 0
    assert "apply.model" in result.output and "is applied once, into results/applied/" in result.output
    # rule all: the experiments are there (a changed config reruns only the apply jobs here)
    result = run_snakemake(workdir, config, "--rerun-triggers", "mtime", configfiles=configfiles)
    assert result.returncode == 0, result.output
    assert jobs_run(result.output) == {"convert_images": 1, "apply_model": 1, "applied_figure": 1, "all": 1}
    predictions = pd.read_csv(workdir / "results" / "applied" / "predictions.tsv", sep="\t")
    assert predictions["image"].tolist() == sorted(path.name for path in MY_DIGITS.iterdir())
    assert not list((workdir / "results" / "experiments").glob("*/applied"))
    assert not (workdir / "results" / "experiments" / "applied_agreement.tsv").exists()
    # the report of it all, no targets
    page = tmp_path / "report.html"
    result = run_snakemake(
        workdir, config, "--rerun-triggers", "mtime", "--report", str(page), configfiles=configfiles
    )
    assert result.returncode == 0, result.output
    entries = embedded(page.read_text(), "results")
    assert "centre of mass" in entries["results/applied/digits.png"]["caption"]
    assert "results/experiments/comparison.tsv" in entries


# --- switching the optimizer; an experiment's own model ------------------------------------------


def readme_yaml(start: str) -> str:
    """The YAML block of README.md or docs/ that starts with ``start``, as written."""
    text = "".join(path.read_text() for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))])
    blocks = re.findall(r"^ *```yaml\n(.*?)^ *```", text, flags=re.M | re.S)
    [block] = [text for text in map(textwrap.dedent, blocks) if text.startswith(start)]
    return block


def optimizer_built(workdir, prefix=""):
    """compile.optimizer as model_builder wrote it (every argument of the class, its defaults too)."""
    path = workdir / "results" / prefix / "model" / "model_builder.json"
    return json.loads(path.read_text())["compile"]["optimizer"]


def is_sgd_of_the_readme(optimizer):
    return optimizer["type"] == "SGD" and optimizer["args"].items() >= SGD["args"].items()


def test_switching_the_optimizer_as_the_readme_shows(tmp_path):
    (tmp_path / "resources").symlink_to(REPO / "resources")
    # an extra config file: snakemake --configfile config/sample.yaml sgd.yaml
    sgd_yaml = tmp_path / "sgd.yaml"
    sgd_yaml.write_text(readme_yaml("compile: {optimizer: {type: SGD"))
    result = run_snakemake(
        tmp_path, {}, "results/model/model_builder.json", configfiles=(SAMPLE_YAML, sgd_yaml)
    )
    assert result.returncode == 0, result.output
    assert is_sgd_of_the_readme(optimizer_built(tmp_path))
    assert (
        f"{sgd_yaml} sets compile.optimizer.type SGD in place of Adam, so Adam's args are left out: "
        f"beta_1, beta_2, epsilon, amsgrad (from {REPO / 'config.yaml'})"
    ) in result.output
    # the README's own experiments, cnn_sgd among them
    experiments = tmp_path / "experiments.yaml"
    experiments.write_text(readme_yaml("experiments:\n  cnn_5_epochs:"))
    targets = [f"results/experiments/{name}/model/model_builder.json" for name in ("cnn_5_epochs", "cnn_sgd")]
    result = run_snakemake(tmp_path, {}, *targets, configfiles=(SAMPLE_YAML, experiments))
    assert result.returncode == 0, result.output
    assert is_sgd_of_the_readme(optimizer_built(tmp_path, "experiments/cnn_sgd"))
    adam = yaml.safe_load((REPO / "config.yaml").read_text())["compile"]["optimizer"]
    tutorial = optimizer_built(tmp_path, "experiments/cnn_5_epochs")
    assert tutorial["type"] == "Adam" and tutorial["args"].items() >= adam["args"].items()
    assert "experiments.cnn_sgd sets compile.optimizer.type SGD in place of Adam" in result.output


def test_an_experiment_s_layers_win_over_the_config_s_json(tmp_path):
    (tmp_path / "resources").symlink_to(REPO / "resources")
    dense = [{"type": "Dense", "args": {"units": 10, "activation": "softmax"}}]
    config = {
        "model": {"config_json": str(GALAXY_JSON)},
        "experiments": {"from_json": {}, "dense": {"model": {"layers": dense}}},
    }
    targets = [f"results/experiments/{name}/model/model_config.json" for name in ("from_json", "dense")]
    result = run_snakemake(tmp_path, config, *targets, configfiles=(SAMPLE_YAML,))
    assert result.returncode == 0, result.output

    def layers(name):
        path = tmp_path / "results" / "experiments" / name / "model" / "model_config.json"
        return [layer.__class__.__name__ for layer in keras.models.model_from_json(path.read_text()).layers]

    assert "Conv2D" in layers("from_json")
    assert layers("dense") == ["Dense"]
    assert (
        f"experiments.dense sets model.layers: it is built from them, not from model.config_json ({GALAXY_JSON})"
        in result.output
    )


# --- mistakes in the experiments, found before anything runs -----------------------------------

BAD_EXPERIMENTS = {
    "name": (
        {"my run": {}},
        "Invalid config at experiments: 'my run' does not match '^[A-Za-z0-9][A-Za-z0-9_-]*$'. "
        "An experiment's name is a folder name of letters, digits, _ and -, starting with a letter or digit.",
    ),
    "value": (
        {"fnn_500": {"fit": {"epochs": 0}}},
        "Invalid config at experiments.fnn_500.fit.epochs: 0 is less than the minimum of 1. "
        "Passes over the training data.",
    ),
    "misspelt-key": (
        {"fnn_500": {"fit": {"epoch": 3}}},
        "Invalid config at experiments.fnn_500.fit: Additional properties are not allowed ('epoch' was unexpected).",
    ),
    "shared-key": (
        {"fnn_500": {"data": {"dir": "elsewhere"}}},
        "Invalid config at experiments.fnn_500: 'data' is not one of ['model', 'compile', 'fit', "
        "'random_seed', 'precision', 'holdout', 'predict']. An experiment overrides model, compile, fit, "
        "random_seed, precision, holdout and predict only; zenodo, data, onnx, backend, gpu and threads are shared by all experiments.",
    ),
    "layer": (
        {"cnn": {"model": {"layers": [{"type": "Dense", "arg": {"units": 10}}]}}},
        "Invalid config at experiments.cnn.model.layers.0: Additional properties are not allowed ('arg' was unexpected).",
    ),
    "layers-and-json": (
        {"cnn": {"model": {"layers": [{"type": "Flatten"}], "config_json": "cnn.json"}}},
        "experiments.cnn sets both model.layers and model.config_json (cnn.json): expected one of them",
    ),
}


@pytest.mark.parametrize("case", BAD_EXPERIMENTS, ids=list(BAD_EXPERIMENTS))
def test_bad_experiment_is_one_clear_message(tmp_path, case):
    experiments, message = BAD_EXPERIMENTS[case]
    result = run_snakemake(
        tmp_path, {"experiments": experiments}, "--dry-run", configfiles=(EXPERIMENTS_YAML,)
    )
    assert result.returncode != 0
    assert message in result.output
    assert "Traceback" not in result.output
