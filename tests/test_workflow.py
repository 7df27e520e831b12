"""The real ``snakemake`` command, end to end, on real MNIST digits served by a fake Zenodo."""

import base64
import gzip
import hashlib
import json
import os
import platform
import re
import shutil

import keras
import numpy as np
import pandas as pd
import pytest
import snakemake
import tensorflow as tf
import yaml
from png_files import png_size
from workflow_runner import KEEP_INCOMPLETE, REPO, files_below, job_names, report_files, run_snakemake
from zenodo_server import closed_port_url

from mnist_cnn import ZENODO_FILES
from mnist_cnn.data import md5sum

# 2,400 training images: batches of 100 for 10 epochs give about the tutorial's number of steps.
FIT = {"epochs": 10, "batch_size": 100}


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, tsv_dir):
    """One whole run from download to evaluation, shared by the checks below."""
    from zenodo_server import FakeZenodo

    workdir = tmp_path_factory.mktemp("full_run")
    with FakeZenodo({name: tsv_dir / name for name in ZENODO_FILES}) as zenodo:
        zenodo.statuses[zenodo.file_path("X_train.tsv")] = [503]  # retried, not fatal
        config = {"zenodo": {"url": zenodo.url, "backoff": 0.01}, "fit": FIT}
        result = run_snakemake(workdir, config)
    assert result.returncode == 0, result.output
    return workdir / "results", workdir, config


def test_downloaded_files_are_the_served_ones(full_run, tsv_dir):
    results, _, _ = full_run
    for name in ZENODO_FILES:
        assert md5sum(results / "data" / name) == md5sum(tsv_dir / name)
    assert sorted(p.name for p in (results / "data").iterdir()) == sorted(
        [*ZENODO_FILES, "test.npz", "train.npz", "training_digits.png"]
    )


def test_model_files(full_run):
    results, _, _ = full_run
    model = keras.models.model_from_json((results / "model" / "model_config.json").read_text())
    assert model.count_params() == 30_634
    builder = json.loads((results / "model" / "model_builder.json").read_text())
    assert builder["fit"]["epochs"] == 10 and builder["compile"]["optimizer"]["type"] == "Adam"
    trained = keras.models.load_model(results / "model" / "model.keras")
    model.load_weights(results / "model" / "weights.h5")  # HDF5 weights fit the model JSON
    for loaded, saved in zip(model.get_weights(), trained.get_weights(), strict=True):
        np.testing.assert_array_equal(loaded, saved)


def test_predict_runs_the_onnx_export_without_tensorflow(full_run, mnist_test):
    results, workdir, _ = full_run
    log = (workdir / "logs" / "predict.log").read_text()
    assert "with onnxruntime (results/model/model.onnx)" in log
    assert "TensorFlow" not in log and "cuda" not in log  # TensorFlow logs as it starts
    trained = keras.models.load_model(results / "model" / "model.keras")
    from_keras = trained.predict(mnist_test[0].astype(np.float32), verbose=0)
    probabilities = pd.read_csv(results / "probabilities.tsv", sep="\t").to_numpy()
    np.testing.assert_array_equal(probabilities.argmax(axis=1), from_keras.argmax(axis=1))
    np.testing.assert_allclose(probabilities, from_keras, rtol=0, atol=1e-5)


def test_training_tables(full_run):
    results, _, _ = full_run
    metrics = pd.read_csv(results / "model" / "train_metrics.tsv", sep="\t")
    assert metrics.columns.tolist() == ["accuracy", "loss"] and len(metrics) == 1
    history = pd.read_csv(results / "model" / "history.tsv", sep="\t")
    assert history["epoch"].tolist() == list(range(1, 11))
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]
    assert metrics["accuracy"].iloc[0] == pytest.approx(history["val_accuracy"].iloc[-1], abs=1e-5)


def test_predictions_and_evaluation(full_run, tsv_dir):
    results, _, _ = full_run
    y_test = pd.read_csv(tsv_dir / "y_test.tsv", sep="\t", header=None)[0].to_numpy()
    predictions = pd.read_csv(results / "predictions.tsv", sep="\t")
    assert predictions.columns.tolist() == ["Predicted"] and len(predictions) == len(y_test) == 1000
    assert set(predictions["Predicted"]) <= set(range(10))

    confusion = pd.read_csv(results / "confusion_matrix.tsv", sep="\t", index_col=0)
    assert confusion.shape == (10, 10)
    assert confusion.sum(axis=1).tolist() == np.bincount(y_test).tolist()
    assert confusion.sum(axis=0).tolist() == np.bincount(predictions["Predicted"], minlength=10).tolist()

    report = pd.read_csv(results / "classification_report.tsv", sep="\t", index_col=0)
    assert report.index.astype(str).tolist() == [
        *map(str, range(10)),
        "accuracy",
        "macro avg",
        "weighted avg",
    ]
    assert report.columns.tolist() == ["precision", "recall", "f1-score", "support"]
    accuracy = report.loc["accuracy", "f1-score"]
    assert accuracy == pytest.approx(np.mean(predictions["Predicted"].to_numpy() == y_test), abs=1e-4)
    assert accuracy > 0.8  # chance is 0.1
    assert report.loc["0", "recall"] == pytest.approx(
        confusion.iloc[0, 0] / confusion.iloc[0].sum(), abs=1e-4
    )
    width, height = png_size(results / "confusion_matrix.png")
    assert width > 600 and height > 500

    probabilities = pd.read_csv(results / "probabilities.tsv", sep="\t")
    assert probabilities.columns.tolist() == [str(c) for c in range(10)] and len(probabilities) == 1000
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    np.testing.assert_array_equal(probabilities.to_numpy().argmax(axis=1), predictions["Predicted"])


def test_provenance_is_written_beside_the_results_and_shown_in_the_report(full_run, report, tsv_dir):
    results, workdir, config = full_run
    record = yaml.safe_load((results / "provenance.yaml").read_text())
    assert record["software"]["tensorflow"] == tf.__version__
    assert record["software"]["keras"] == keras.__version__
    assert record["workflow"]["snakemake"] == snakemake.__version__
    for name in ZENODO_FILES:
        assert record["data"][name] == {
            "path": f"results/data/{name}",
            "md5": md5sum(tsv_dir / name),
            "bytes": (tsv_dir / name).stat().st_size,
        }
    assert (
        record["config"]["fit"]["epochs"] == 10
        and record["config"]["zenodo"]["url"] == config["zenodo"]["url"]
    )
    # what train computed on, from train's own record: --cores 2 caps threads.train (8) to 2
    train_machine = yaml.safe_load((results / "model" / "train_machine.yaml").read_text())
    assert record["train"] == train_machine
    assert train_machine["host"] == platform.node() and train_machine["cpu_flags"]
    assert train_machine["threads"] == {"intra_op": 2, "inter_op": 1}
    assert train_machine["precision"] == {"requested": "float32", "used": "float32", "why": "as configured"}
    page = report.read_text()
    assert "results/provenance.yaml" in page and "Provenance of these results" in page


def test_every_rule_has_a_log_and_a_benchmark(full_run):
    _, workdir, _ = full_run
    for job in job_names():
        assert (workdir / "logs" / f"{job}.log").stat().st_size > 0, job
        benchmark = pd.read_csv(workdir / "benchmarks" / f"{job}.tsv", sep="\t")
        assert benchmark["s"].iloc[0] > 0
    # --cores 2 caps the rules' threads at 2
    train_log, predict_log = ((workdir / "logs" / f"{rule}.log").read_text() for rule in ("train", "predict"))
    assert "TensorFlow threads: 2 intra-op, 1 inter-op; op determinism on" in train_log
    assert "onnxruntime threads: 2 intra-op, 1 inter-op" in predict_log
    download_log = (workdir / "logs" / "download.log").read_text()
    assert "X_train.tsv" in download_log and "B/s" in download_log  # progress: bytes and rate


def test_rerun_has_nothing_to_do_until_a_setting_changes(full_run):
    _, workdir, config = full_run
    result = run_snakemake(workdir, {**config, "zenodo": {**config["zenodo"], "retries": 2}}, "--dry-run")
    assert result.returncode == 0, result.output
    assert "Nothing to be done" in result.output
    result = run_snakemake(workdir, {**config, "holdout": {"test_size": 0.25}}, "--dry-run")
    assert "reason: Params have changed since last execution" in result.output
    assert "train " in result.output and "download " not in result.output


@pytest.mark.slow  # 10 epochs: its accuracy is checked
def test_user_files_galaxy_model_json_and_probabilities(data_copy, tmp_path):
    """data.dir with gzipped files and known md5, a Keras 2 JSON from Galaxy, predict_proba."""
    for name in ZENODO_FILES:
        path = data_copy / name
        path.with_suffix(".tsv.gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
    md5 = {f"{name}.gz": md5sum(data_copy / f"{name}.gz") for name in ZENODO_FILES}
    config = {
        "data": {"dir": str(data_copy), "md5": md5},
        "model": {"config_json": str(REPO / "tests" / "data" / "galaxy_keras_2.3.1_cnn.json")},
        "predict": {"method": "predict_proba"},
        "fit": FIT,
        "onnx": False,
    }
    # what the checks below read, not the report's figures
    result = run_snakemake(
        tmp_path / "run", config, "results/classification_report.tsv", "results/probabilities.tsv"
    )
    assert result.returncode == 0, result.output
    results = tmp_path / "run" / "results"
    assert not (results / "model" / "model.onnx").exists()
    assert (
        "with Keras on tensorflow (results/model/model.keras)"
        in (tmp_path / "run" / "logs" / "predict.log").read_text()
    )
    assert not (results / "data" / "X_train.tsv").exists()  # nothing downloaded
    probabilities = pd.read_csv(results / "predictions.tsv", sep="\t")
    assert probabilities.columns.tolist() == [str(c) for c in range(10)]
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    assert (results / "predictions.tsv").read_bytes() == (results / "probabilities.tsv").read_bytes()
    report = pd.read_csv(results / "classification_report.tsv", sep="\t", index_col=0)
    assert report.loc["accuracy", "f1-score"] > 0.8


# What some of the report's items say: path under the run's folder -> (category, text from its caption).
# (Which items the report holds comes from the rules: workflow_runner.report_files.)
CAPTIONS = {
    "results/config.html": ("1. Configuration", "with every default filled in"),
    "results/data/training_digits.png": ("2. Data", "the download and the check of the data worked"),
    "results/model/summary.html": ("3. Model", "30,634 parameters in all"),
    "results/model/training_curves.png": ("4. Training", "one pass over the training part"),
    "results/model/first_conv_filters.png": ("4. Training", "the 3x3 grid"),
    "results/model/first_conv_feature_maps.png": ("4. Training", "every row below is one filter"),
    "results/confusion_matrix.png": ("5. Evaluation", "the diagonal holds the correct predictions"),
    "results/confusion_matrix.svg": ("5. Evaluation", "the diagonal holds the correct predictions"),
    "results/confusion_matrix.html": ("5. Evaluation", "the diagonal holds the correct predictions"),
    "results/confusion_matrix_normalised.png": ("5. Evaluation", "each digit's recall"),
    "results/classification_report.html": ("5. Evaluation", "F1 is their harmonic mean"),
    "results/class_scores.png": ("5. Evaluation", "Low precision means"),
    "results/misclassified.png": ("5. Evaluation", "the mistakes it was most sure of first"),
    "results/roc_curves.png": ("5. Evaluation", "true positive rate"),
    "results/precision_recall_curves.png": ("5. Evaluation", "average precision (AP)"),
    "results/auc.html": ("5. Evaluation", "area under each digit's ROC curve"),
    "results/provenance.yaml": ("Provenance", "Provenance of these results"),  # a download link
}


@pytest.fixture(scope="module")
def report(full_run):
    """``snakemake --report results/report.html`` after the whole run."""
    _, workdir, config = full_run
    result = run_snakemake(workdir, config, "--report", "results/report.html")
    assert result.returncode == 0, result.output
    return workdir / "results" / "report.html"


def embedded(page: str, script_id: str) -> dict:
    """A table the report's JavaScript app reads (``var name = {...};`` in a script element)."""
    start = page.index(f'<script id="{script_id}">')
    block = page[page.index(">", start) + 1 : page.index("</script>", start)]
    return json.loads(block.split("=", 1)[1].strip().removesuffix(";"))


def test_report_is_one_file_embedding_every_figure_and_table(report):
    workdir = report.parents[1]
    page = report.read_text()
    assert report.stat().st_size > 500_000
    results, categories = embedded(page, "results"), embedded(page, "categories")
    assert set(results) == set(report_files({}))  # every output its rule marks with report()
    for path, entry in results.items():
        data = base64.b64encode((workdir / path).read_bytes()).decode()
        assert entry["data_uri"].endswith(f";base64,{data}"), path  # the file itself, not a link
        assert entry["caption"].strip(), path
        assert [name for name, shown in categories.items() if path in shown["Other"]], path
    for path, (category, caption) in CAPTIONS.items():
        assert caption in results[path]["caption"], path
        assert path in categories[category]["Other"], path
    # nothing is fetched from the run's folder or the network: the page alone is the report
    assert not re.search(r'(src|href)="(results|logs|file:)', page)


@pytest.fixture(scope="module")
def chromium():
    if shutil.which("chromium") is None:
        reason = "Debian's chromium is not installed (apt-get install chromium chromium-driver; .ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser test must run in CI, but {reason}")
        pytest.skip(reason)
    return shutil.which("chromium")


def test_report_renders_in_a_browser(report, chromium, tmp_path):
    """Headless Chromium opens the report, shows every figure and table with its caption."""
    from playwright.sync_api import sync_playwright

    results, categories = embedded(report.read_text(), "results"), embedded(report.read_text(), "categories")
    errors = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            tmp_path / "profile",  # a fresh profile
            executable_path=chromium,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
            viewport={"width": 1400, "height": 1000},
        )
        page = browser.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(report.as_uri())
        assert "Deep Learning (Part 3)" in page.inner_text("body")
        for path in results:
            [category] = [name for name, shown in categories.items() if path in shown["Other"]]
            page.get_by_text(category, exact=True).first.click()
            label = (results[path]["labels"] or {}).get("result", path)  # unlabelled: its path
            row = page.locator("tr", has=page.get_by_text(label, exact=True))
            if path.endswith(".html"):
                row.locator('a[iconname="eye"]').click()
                table = page.frame_locator("iframe").locator("table, pre").first
                assert table.inner_text().strip(), path
            elif path.endswith((".png", ".svg")):
                row.locator('a[iconname="eye"]').click()
                image = page.locator("div.p-3 > img")
                image.wait_for()
                width = image.evaluate("img => img.complete && img.naturalWidth")
                assert width > 300, path
            if path == "results/misclassified.png":
                page.screenshot(path=report.parent / "report_screenshot.png")
            row.locator('a[iconname="information-circle"]').click()
            # the caption's words as the page shows them (its first three, where CAPTIONS says none)
            words = " ".join(re.sub(r"<[^>]+>", " ", results[path]["caption"]).split()[:3])
            assert CAPTIONS.get(path, (None, words))[1] in page.inner_text("body"), path
            page.locator("a", has_text="Results").first.click()
        browser.close()
    assert errors == []
    assert png_size(report.parent / "report_screenshot.png") == (1400, 1000)


def damage(path, lineno, edit):
    text = path.read_text().splitlines(keepends=True)
    cells = text[lineno - 1].rstrip("\n").split("\t")
    text[lineno - 1] = "\t".join(edit(cells)) + "\n"
    path.write_text("".join(text))


BAD_INPUTS = {
    "short-row": (
        "X_train.tsv",
        lambda p: damage(p, 12, lambda c: c[:-2]),
        "X_train.tsv, line 12: expected 784 tab-separated pixel values, found 782 values",
    ),
    "not-a-number": (
        "X_test.tsv",
        lambda p: damage(p, 3, lambda c: c[:9] + ["x1"] + c[10:]),
        "X_test.tsv, line 3, column 10: expected a number, found 'x1'",
    ),
    "empty-cell": (
        "X_test.tsv",
        lambda p: damage(p, 3, lambda c: c[:783] + [""]),
        "X_test.tsv, line 3, column 784: expected a number, found an empty cell",
    ),
    "pixel-range": (
        "X_train.tsv",
        lambda p: damage(p, 2, lambda c: c[:399] + ["999"] + c[400:]),
        "X_train.tsv, line 2, column 400: expected a pixel value 0..255, found 999",
    ),
    "bad-label": (
        "y_test.tsv",
        lambda p: damage(p, 40, lambda c: ["12"]),
        "y_test.tsv, line 40: expected an integer class label 0..9, found 12",
    ),
    "fractional-label": (
        "y_train.tsv",
        lambda p: damage(p, 8, lambda c: ["1.5"]),
        "y_train.tsv, line 8: expected an integer class label 0..9, found 1.5",
    ),
    "row-counts": (
        "y_train.tsv",
        lambda p: p.write_text("".join(p.read_text().splitlines(keepends=True)[:-3])),
        "X_train.tsv has 3000 rows but y_train.tsv has 2997: expected one label per image",
    ),
    "empty-file": (
        "X_test.tsv",
        lambda p: p.write_text(""),
        "X_test.tsv is empty: expected rows of 784 tab-separated pixel values, found nothing",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_bad_input_stops_the_workflow_with_file_line_and_expectation(data_copy, tmp_path, case):
    name, spoil, message = BAD_INPUTS[case]
    spoil(data_copy / name)
    split = name.split("_")[1].removesuffix(".tsv")
    result = run_snakemake(tmp_path / "run", {"data": {"dir": str(data_copy)}}, KEEP_INCOMPLETE)
    assert result.returncode != 0
    assert f"Error in rule check_data: {message}" in result.output
    assert message in (tmp_path / "run" / "logs" / f"check_data_{split}.log").read_text()
    # nothing of the split's, not even a temporary file (other jobs may have run beside it)
    assert [path for path in files_below(tmp_path / "run" / "results" / "data") if split in path] == []
    assert not (tmp_path / "run" / "logs" / "train.log").exists()


def test_wrong_md5_of_user_files_stops_the_workflow(data_copy, tmp_path):
    wrong = hashlib.md5(b"something else").hexdigest()
    config = {"data": {"dir": str(data_copy), "md5": {"y_test.tsv": wrong}}}
    result = run_snakemake(tmp_path / "run", config, KEEP_INCOMPLETE)
    assert result.returncode != 0
    assert f"y_test.tsv: md5 is {md5sum(data_copy / 'y_test.tsv')} but expected {wrong}" in result.output
    assert [path for path in files_below(tmp_path / "run" / "results" / "data") if "test" in path] == []


def test_unknown_layer_stops_before_training(data_copy, tmp_path):
    layers = [
        {"type": "Reshape", "args": {"target_shape": [28, 28, 1]}},
        {"type": "Conv2D", "args": {"filters": 8, "kernal_size": 3}},
    ]
    config = {"data": {"dir": str(data_copy)}, "model": {"layers": layers}}
    result = run_snakemake(tmp_path / "run", config, KEEP_INCOMPLETE)
    assert result.returncode != 0
    assert (
        "model.layers[1] (Conv2D): unknown argument 'kernal_size'; did you mean 'kernel_size'?"
        in result.output
    )
    # model_builder may have run beside it; nothing of model_config's, not even a temporary file
    assert [path for path in files_below(tmp_path / "run" / "results") if "model_config" in path] == []
    assert not (tmp_path / "run" / "logs" / "train.log").exists()


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("server-down", "could not fetch"),
        ("wrong-md5", "MD5 hash of downloaded file (X_test.tsv) does not match"),
    ],
)
def test_download_failure_leaves_nothing_half_written(tsv_dir, tmp_path, fault, message):
    from zenodo_server import FakeZenodo

    with FakeZenodo({name: tsv_dir / name for name in ZENODO_FILES}) as zenodo:
        if fault == "wrong-md5":
            zenodo.wrong_md5.add("X_test.tsv")
        url = closed_port_url() if fault == "server-down" else zenodo.url
        config = {"zenodo": {"url": url, "retries": 1, "backoff": 0.01}}
        result = run_snakemake(tmp_path / "run", config, KEEP_INCOMPLETE)
    assert result.returncode != 0
    assert "Error in rule download:" in result.output and message in result.output
    # the files that came whole before the failure may stay (each checked, renamed into place only
    # then); nothing else, no partial or temporary file (other jobs may have run beside it)
    left = files_below(tmp_path / "run" / "results" / "data")
    assert set(left) <= set(ZENODO_FILES) - {"X_test.tsv"}, left
    for name in left:
        assert md5sum(tmp_path / "run" / "results" / "data" / name) == zenodo.md5(name)


def test_bad_config_value_is_one_clear_message(tmp_path):
    result = run_snakemake(tmp_path / "run", {"fit": {"epochs": 0}}, "--dry-run")
    assert result.returncode != 0
    assert (
        "Invalid config at fit.epochs: 0 is less than the minimum of 1. Passes over the training data."
        in result.output
    )
    assert "Traceback" not in result.output


def test_offline_demo_on_the_sample_in_the_repository(full_run, tmp_path):
    """README's offline command: the sample in resources/ (data.dir is relative to the run's
    folder) gives the very digits full_run downloaded, so the same training, whose accuracy the
    tests above check (the whole command: test_reproducibility.py, and a dry run in test_docs.py)."""
    (tmp_path / "resources").symlink_to(REPO / "resources")
    targets = ["results/data/train.npz", "results/data/test.npz"]
    result = run_snakemake(tmp_path, {}, *targets, configfiles=(REPO / "config" / "sample.yaml",))
    assert result.returncode == 0, result.output
    downloaded = full_run[0] / "data"
    for name in ("train.npz", "test.npz"):
        with np.load(tmp_path / "results" / "data" / name) as offline, np.load(downloaded / name) as served:
            assert sorted(offline.files) == sorted(served.files)
            for key in offline.files:
                np.testing.assert_array_equal(offline[key], served[key])


def test_data_dir_without_the_files_is_named(tmp_path):
    (tmp_path / "mine").mkdir()
    result = run_snakemake(tmp_path / "run", {"data": {"dir": str(tmp_path / "mine")}}, "--dry-run")
    assert result.returncode != 0
    assert f"data.dir: {tmp_path / 'mine'} holds neither X_train.tsv nor X_train.tsv.gz" in result.output
