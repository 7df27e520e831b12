"""The workflow's apply jobs (config key apply), through the real ``snakemake`` command, on a model
trained by an earlier run of the workflow on the repository's sample."""

import base64
import gzip
import json
import re
import shutil
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from workflow_runner import KEEP_INCOMPLETE, REPO, files_below, run_snakemake

from mnist_cnn import InputError
from mnist_cnn.comparison import agreement_table
from mnist_cnn.data import read_pixels
from mnist_cnn.prediction import class_probabilities

SAMPLE = REPO / "resources" / "mnist_sample"
MY_DIGITS = REPO / "resources" / "my_digits" / "images"
CLASSES = [str(c) for c in range(10)]


def jobs_run(output: str) -> set[str]:
    """The rules of the jobs snakemake ran, from its log (``rule NAME:`` per job)."""
    return set(re.findall(r"^(?:local)?rule (\w+):", output, flags=re.M))


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory):
    """A run of the workflow on the sample that trained a model (2 epochs) and exported it as ONNX:
    its folder."""
    workdir = tmp_path_factory.mktemp("earlier_run")
    config = {"data": {"dir": str(SAMPLE)}, "fit": {"epochs": 2, "batch_size": 100}}
    result = run_snakemake(workdir, config, "results/model/model.keras", "results/model/model.onnx")
    assert result.returncode == 0, result.output
    return workdir, config


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """50 test rows of the sample, under a header, as a user's table."""
    folder = tmp_path_factory.mktemp("table")
    with gzip.open(SAMPLE / "X_test.tsv.gz", "rt") as rows:
        lines = ["\t".join(f"pixel{i}" for i in range(784)) + "\n", *(next(rows) for _ in range(50))]
    (folder / "new_rows.tsv").write_text("".join(lines))
    return folder / "new_rows.tsv"


@pytest.fixture(scope="module")
def applied(earlier_run, table, tmp_path_factory):
    """A new folder: the earlier run's model applied to resources/my_digits and to the table."""
    workdir = tmp_path_factory.mktemp("applied")
    model = earlier_run[0] / "results" / "model" / "model.keras"
    config = {"apply": {"images": str(MY_DIGITS), "tables": [str(table)], "model": str(model)}}
    result = run_snakemake(workdir, config, "apply")
    assert result.returncode == 0, result.output
    return workdir, result, keras.models.load_model(model), config


def test_a_model_from_an_earlier_run_is_applied_without_training(applied):
    workdir, result, _, _ = applied
    assert jobs_run(result.output) == {"convert_images", "apply_model", "applied_figure", "apply"}
    assert sorted(p.name for p in (workdir / "logs").iterdir()) == [
        "applied_figure.log",
        "apply_model.log",
        "convert_images.log",
    ]
    assert not (workdir / "results" / "model").exists() and not (workdir / "results" / "data").exists()


def test_images_become_rows_of_mnist_pixels_and_predictions_by_name(applied):
    workdir, _, model, _ = applied
    digits = pd.read_csv(workdir / "results" / "applied" / "digits.tsv", sep="\t", header=None)
    predictions = pd.read_csv(workdir / "results" / "applied" / "predictions.tsv", sep="\t")
    names = sorted(p.name for p in MY_DIGITS.iterdir())
    assert (
        digits.shape == (len(names), 784) and digits.to_numpy().min() >= 0 and digits.to_numpy().max() == 255
    )
    assert predictions.columns.tolist() == ["image", "Predicted", "probability", *CLASSES]
    assert predictions["image"].tolist() == names
    probabilities = predictions[CLASSES].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-4)
    np.testing.assert_array_equal(predictions["Predicted"], probabilities.argmax(axis=1))
    np.testing.assert_allclose(predictions["probability"], probabilities.max(axis=1))
    # the rows of digits.tsv are what the model was given
    expected = class_probabilities(model, digits.to_numpy().astype(np.uint8), 100).to_numpy()
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    # the digit each file name starts with: most are read right even by a model of 2 epochs
    truth = [int(name[0]) for name in names]
    assert np.mean(predictions["Predicted"].to_numpy() == truth) >= 0.5


def test_each_table_gets_its_predictions(applied, table):
    workdir, _, model, _ = applied
    predictions = pd.read_csv(workdir / "results" / "applied" / "new_rows.predictions.tsv", sep="\t")
    assert predictions.columns.tolist() == ["Predicted", *CLASSES] and len(predictions) == 50
    expected = class_probabilities(model, read_pixels(table, 784), 100).to_numpy()
    np.testing.assert_allclose(predictions[CLASSES].to_numpy(), expected, atol=1e-5)
    np.testing.assert_array_equal(predictions["Predicted"], expected.argmax(axis=1))


def embedded(page: str, script_id: str) -> dict:
    """A table the report's JavaScript app reads (``var name = {...};`` in a script element)."""
    start = page.index(f'<script id="{script_id}">')
    block = page[page.index(">", start) + 1 : page.index("</script>", start)]
    return json.loads(block.split("=", 1)[1].strip().removesuffix(";"))


def test_the_figure_is_in_the_report_after_evaluation(applied):
    workdir, _, _, config = applied
    figure = workdir / "results" / "applied" / "digits.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = run_snakemake(workdir, config, "apply", "--report", "report.html")
    assert result.returncode == 0, result.output
    page = (workdir / "report.html").read_text()
    entry = embedded(page, "results")["results/applied/digits.png"]
    assert entry["data_uri"].endswith(base64.b64encode(figure.read_bytes()).decode())
    assert "centre of mass" in entry["caption"] and "Otsu" in entry["caption"]
    assert "results/applied/digits.png" in embedded(page, "categories")["6. Your own digits"]["Other"]


def test_without_apply_model_the_run_s_own_model_is_applied(earlier_run, table):
    workdir, config = earlier_run
    result = run_snakemake(workdir, {**config, "apply": {"tables": [str(table)]}}, "apply")
    assert result.returncode == 0, result.output
    assert jobs_run(result.output) == {"apply_model", "apply"}  # the model is there: no training
    assert (workdir / "results" / "applied" / "new_rows.predictions.tsv").exists()


def test_the_test_set_as_a_table_gets_predict_s_predictions_row_for_row(earlier_run):
    """apply_model runs the model as predict does (onnxruntime on the run's ONNX export): the
    sample's X_test as a table comes out as predictions.tsv and probabilities.tsv, to the bit."""
    workdir, config = earlier_run
    config = {**config, "apply": {"tables": [str(SAMPLE / "X_test.tsv.gz")]}}
    result = run_snakemake(workdir, config, "apply", "results/probabilities.tsv")
    assert result.returncode == 0, result.output
    assert jobs_run(result.output) == {"check_data", "predict", "apply_model", "apply"}  # no training
    for rule in ("predict", "apply_model"):
        assert "with onnxruntime (results/model/model.onnx)" in (workdir / "logs" / f"{rule}.log").read_text()
    assert_test_set_applied_as_predicted(workdir / "results")


def assert_test_set_applied_as_predicted(results: Path) -> None:
    """The sample's X_test applied as a table (applied/X_test.predictions.tsv) gave predict's
    classes and probabilities, row for row."""
    applied = pd.read_csv(results / "applied" / "X_test.predictions.tsv", sep="\t")
    predictions = pd.read_csv(results / "predictions.tsv", sep="\t")
    probabilities = pd.read_csv(results / "probabilities.tsv", sep="\t")
    assert len(applied) == len(predictions) == 1000
    np.testing.assert_array_equal(applied["Predicted"], predictions["Predicted"])
    np.testing.assert_array_equal(applied[CLASSES], probabilities[CLASSES])


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("not_an_image", r"Error in rule convert_images: notes\.txt: expected an image \(PNG, JPEG"),
        ("no_ink", r"Error in rule convert_images: blank\.png: expected a digit, .* found no ink"),
        ("empty_folder", r"apply\.images: the folder .*my_images holds no files: expected digit images"),
    ],
)
def test_bad_images_are_named_and_nothing_is_written(tmp_path, bad, message):
    folder = tmp_path / "my_images"
    shutil.copytree(MY_DIGITS, folder) if bad != "empty_folder" else folder.mkdir()
    if bad == "not_an_image":
        (folder / "notes.txt").write_text("the digits I wrote on Monday\n")
    elif bad == "no_ink":  # a photo of blank paper
        Image.new("L", (120, 160), 250).save(folder / "blank.png")
    result = run_snakemake(
        tmp_path / "run", {"apply": {"images": str(folder)}}, "results/applied/digits.tsv", KEEP_INCOMPLETE
    )
    assert result.returncode != 0
    assert re.search(message, result.output), result.output
    assert files_below(tmp_path / "run" / "results") == []


def test_a_table_of_the_wrong_width_is_named_and_nothing_is_written(earlier_run, table, tmp_path):
    model = earlier_run[0] / "results" / "model" / "model.keras"
    narrow = tmp_path / "narrow.tsv"
    rows = table.read_text().splitlines()
    narrow.write_text("\n".join([rows[1], "\t".join(rows[2].split("\t")[:783])]) + "\n")  # no header
    config = {"apply": {"tables": [str(table), str(narrow)], "model": str(model)}}
    result = run_snakemake(tmp_path / "run", config, "apply", KEEP_INCOMPLETE)
    assert result.returncode != 0
    assert (
        "Error in rule apply_model: narrow.tsv, line 2: expected 784 tab-separated pixel values, found 783 values"
        in (result.output)
    )
    assert files_below(tmp_path / "run" / "results") == []


@pytest.mark.parametrize(
    ("apply", "message"),
    [
        (
            {"model": "last_week.keras"},
            "apply.model: no such file: last_week.keras: expected a trained Keras model",
        ),
        (
            {"tables": ["rows.tsv"]},
            "apply.tables[0]: no such file: rows.tsv: expected a TSV laid out like X_test",
        ),
        ({"model": "model.h5"}, "Invalid config at apply.model: 'model.h5' does not match"),
    ],
)
def test_a_missing_model_or_table_is_named_before_anything_runs(tmp_path, apply, message):
    result = run_snakemake(tmp_path, {"apply": {"images": str(MY_DIGITS), **apply}}, "apply")
    assert result.returncode != 0
    assert message in result.output, result.output
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists()


def dense(units: int) -> dict:
    layers = [{"type": "Dense", "args": {"units": units, "activation": "relu"}}]
    return {"model": {"layers": [*layers, {"type": "Dense", "args": {"units": 10, "activation": "softmax"}}]}}


def test_each_experiment_s_model_is_applied_and_their_agreement_tabled(tmp_path):
    # named as the table's own columns: each experiment's predictions are still its own column
    config = {
        "data": {"dir": str(SAMPLE)},
        "fit": {"epochs": 1, "batch_size": 100},
        "experiments": {"image": dense(16), "agree": dense(64)},
        "apply": {"images": str(MY_DIGITS)},
    }
    result = run_snakemake(tmp_path, config, "apply", "results/experiments/comparison.tsv")
    assert result.returncode == 0, result.output
    results = tmp_path / "results" / "experiments"
    predicted = {
        name: pd.read_csv(results / name / "applied" / "predictions.tsv", sep="\t")["Predicted"]
        for name in ("image", "agree")
    }
    assert (results / "image" / "applied" / "digits.png").exists()
    agreement = pd.read_csv(results / "applied_agreement.tsv", sep="\t")
    # in config order (the test's config file is written with sorted keys)
    assert agreement.columns.tolist() == ["image", "predicted by agree", "predicted by image", "agree"]
    assert agreement["image"].tolist() == sorted(p.name for p in MY_DIGITS.iterdir())
    for name, digits in predicted.items():
        np.testing.assert_array_equal(agreement[f"predicted by {name}"], digits)
    np.testing.assert_array_equal(agreement["agree"], predicted["image"] == predicted["agree"])
    comparison = pd.read_csv(results / "comparison.tsv", sep="\t", index_col=0)
    assert comparison["applied_agreement"].tolist() == pytest.approx(
        [agreement["agree"].mean()] * 2, rel=1e-3
    )
    # the images are converted once, for all experiments
    assert len(re.findall(r"^(?:local)?rule convert_images:", result.output, flags=re.M)) == 1


def test_agreement_marks_the_images_read_differently():
    first = pd.DataFrame({"image": ["a.png", "b.png", "c.png"], "Predicted": [1, 7, 3]})
    second = pd.DataFrame({"image": ["a.png", "b.png", "c.png"], "Predicted": [1, 1, 3]})
    table = agreement_table(["cnn", "fnn"], [first, second])
    assert table["agree"].tolist() == [True, False, True] and table["predicted by fnn"].tolist() == [1, 1, 3]
    # experiments named as the table's columns take none of their places
    table = agreement_table(["image", "agree"], [first, second])
    assert table.columns.tolist() == ["image", "predicted by image", "predicted by agree", "agree"]
    assert table["image"].tolist() == ["a.png", "b.png", "c.png"]
    assert table["agree"].tolist() == [True, False, True]
    assert table["predicted by image"].tolist() == [1, 7, 3]
    assert table["predicted by agree"].tolist() == [1, 1, 3]
    with pytest.raises(InputError, match="^fnn: expected predictions for the images a.png, b.png, c.png"):
        agreement_table(["cnn", "fnn"], [first, second.iloc[:2]])
