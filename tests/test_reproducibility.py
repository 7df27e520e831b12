"""tools/check_reproducibility.py: its comparison on real files, and the command on the sample data."""

import gzip
import re
import shutil
import time
import zipfile
from pathlib import Path

import pytest
import yaml
from check_reproducibility import absolute_paths_config, compare_results, main

from mnist_cnn.model_config import build_model

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "resources" / "mnist_sample"
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())


@pytest.fixture(scope="module")
def saved_twice(tmp_path_factory):
    """The tutorial's model saved twice, 2 s apart: Keras writes the time of saving into each."""
    folder = tmp_path_factory.mktemp("models")
    model = build_model(CONFIG["model"]["input_shape"], CONFIG["model"]["layers"])
    model.save(folder / "first.keras")
    time.sleep(2.1)  # zip entry times count in steps of 2 s
    model.save(folder / "second.keras")
    weights = model.get_weights()
    weights[-1][3] += 1.0  # one bias of the last layer
    model.set_weights(weights)
    model.save(folder / "changed.keras")
    assert (folder / "first.keras").read_bytes() != (folder / "second.keras").read_bytes()
    return folder


@pytest.fixture
def runs(tmp_path, saved_twice):
    """Two results folders holding the same real files: sample TSVs, a gzip file, a Keras model."""
    folders = [tmp_path / "run1" / "results", tmp_path / "run2" / "results"]
    for folder, model in zip(folders, ("first.keras", "second.keras"), strict=True):
        (folder / "data").mkdir(parents=True)
        (folder / "model").mkdir()
        (folder / "data" / "y_test.tsv").write_bytes(gzip.decompress((SAMPLE / "y_test.tsv.gz").read_bytes()))
        shutil.copy(SAMPLE / "X_test.tsv.gz", folder / "data")
        shutil.copy(saved_twice / model, folder / "model" / "model.keras")
    return folders


def test_same_files_compare_the_same_also_keras_models_saved_at_different_times(runs):
    assert compare_results(*runs) == [
        ("data/X_test.tsv.gz", None),
        ("data/y_test.tsv", None),
        ("model/model.keras", None),
    ]


def test_a_changed_byte_is_reported_by_file_byte_and_line(runs):
    labels = runs[1] / "data" / "y_test.tsv"
    lines = labels.read_bytes().splitlines(keepends=True)
    offset = sum(map(len, lines[:39]))  # the first byte of line 40
    changed = bytearray(labels.read_bytes())
    changed[offset] = ord("0") if changed[offset] != ord("0") else ord("1")
    labels.write_bytes(bytes(changed))
    packed = runs[0] / "data" / "X_test.tsv.gz"
    packed.write_bytes(packed.read_bytes()[:-1])
    assert dict(compare_results(*runs)) == {
        "data/X_test.tsv.gz": f"first difference at byte {packed.stat().st_size} "
        f"(sizes {packed.stat().st_size} and {packed.stat().st_size + 1} bytes)",
        "data/y_test.tsv": f"first difference at byte {offset}, line 40 "
        f"(sizes {labels.stat().st_size} and {labels.stat().st_size} bytes)",
        "model/model.keras": None,
    }


def test_changed_weights_in_a_keras_model_are_reported_by_member(runs, saved_twice):
    shutil.copy(saved_twice / "changed.keras", runs[1] / "model" / "model.keras")
    difference = dict(compare_results(*runs))["model/model.keras"]
    assert difference.startswith("member model.weights.h5: first difference at byte ")


def test_keras_version_in_the_archive_is_compared(runs, tmp_path):
    model = runs[1] / "model" / "model.keras"
    with zipfile.ZipFile(model) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["metadata.json"] = members["metadata.json"].replace(
        b'"keras_version": "3', b'"keras_version": "2'
    )
    with zipfile.ZipFile(model, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    difference = dict(compare_results(*runs))["model/model.keras"]
    assert difference.startswith("member metadata.json: {'keras_version': '3.")


def test_a_file_of_one_run_only_is_reported(runs):
    (runs[0] / "data" / "y_test.tsv").unlink()
    (runs[1] / "extra.tsv").write_text("x\n")
    compared = dict(compare_results(*runs))
    assert compared["data/y_test.tsv"] == "only in run 2"
    assert compared["extra.tsv"] == "only in run 2"


def test_timings_are_left_out(runs):
    for folder, seconds in zip(runs, ("26.8", "27.1"), strict=True):
        (folder / "experiments").mkdir()
        (folder / "experiments" / "timings.tsv").write_text(f"experiment\ttrain_seconds\ncnn\t{seconds}\n")
    assert "experiments/timings.tsv" not in dict(compare_results(*runs))


def test_relative_paths_in_the_config_become_absolute(tmp_path):
    (tmp_path / "a.yaml").write_text(yaml.safe_dump({"data": {"dir": "resources/mnist_sample"}}))
    (tmp_path / "b.yaml").write_text(yaml.safe_dump({"data": {"dir": "mine"}, "fit": {"epochs": 1}}))
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"model": {"config_json": "/abs/model.json"}}))
    files = [tmp_path / "a.yaml", tmp_path / "b.yaml", tmp_path / "c.yaml"]
    assert absolute_paths_config(files, tmp_path) == {"data": {"dir": str(tmp_path / "mine")}}
    assert absolute_paths_config([tmp_path / "c.yaml"], tmp_path) == {}
    apply = {"images": "my_digits", "tables": ["a.tsv", "/abs/b.tsv"], "model": "old/model.keras"}
    (tmp_path / "d.yaml").write_text(yaml.safe_dump({"apply": apply}))
    assert absolute_paths_config([tmp_path / "d.yaml"], tmp_path) == {
        "apply": {
            "images": str(tmp_path / "my_digits"),
            "tables": [str(tmp_path / "a.tsv"), "/abs/b.tsv"],
            "model": str(tmp_path / "old" / "model.keras"),
        }
    }


def test_the_command_runs_the_workflow_twice_and_finds_the_results_equal(tmp_path, capsys):
    """The real check on the sample in resources/, one epoch, as README.md shows it."""
    quick = tmp_path / "one_epoch.yaml"
    quick.write_text(yaml.safe_dump({"fit": {"epochs": 1}}))
    status = main(
        [
            "--configfile",
            str(REPO / "config" / "sample.yaml"),
            str(quick),
            "--workdir",
            str(tmp_path / "check"),
        ]
    )
    output = capsys.readouterr().out
    assert status == 0, output
    for path in (
        "results/data/train.npz",
        "results/model/model_builder.json",
        "results/model/model.onnx",
        "results/predictions.tsv",
        "results/classification_report.tsv",
        "results/provenance.yaml",
    ):
        assert f"same     {path}\n" in output
    assert "same     results/model/model.keras (member by member; Keras's date_saved left out)" in output
    assert int(re.search(r"all (\d+) files under results/ are the same in both runs", output)[1]) >= 13
    for run in ("run1", "run2"):  # both really ran, each in its own folder
        provenance = yaml.safe_load((tmp_path / "check" / run / "results" / "provenance.yaml").read_text())
        assert provenance["config"]["fit"]["epochs"] == 1
        assert provenance["data"]["X_train.tsv.gz"]["path"] == str(SAMPLE / "X_train.tsv.gz")


def test_the_check_of_a_sweep_finds_the_comparison_the_same(tmp_path, capsys):
    """Two experiments (small dense models, one epoch on the sample): the comparison is the same in
    both runs; the training times, which are not, are in timings.tsv and left out."""
    dense = {"model": {"layers": [{"type": "Dense", "args": {"units": 10, "activation": "softmax"}}]}}
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        yaml.safe_dump(
            {
                "fit": {"epochs": 1},
                "experiments": {"softmax": dense, "softmax_seed_1": {**dense, "random_seed": 1}},
            }
        )
    )
    configfiles = [str(REPO / "config" / "sample.yaml"), str(sweep)]
    status = main(["--configfile", *configfiles, "--workdir", str(tmp_path / "check")])
    output = capsys.readouterr().out
    assert status == 0, output
    assert "same     results/experiments/comparison.tsv\n" in output
    assert "same     results/experiments/comparison.png\n" in output
    assert "same     results/experiments/softmax_seed_1/predictions.tsv\n" in output
    assert "left out results/experiments/timings.tsv (wall times)\n" in output
    assert "DIFFERS" not in output
    assert re.search(r"all \d+ files under results/ are the same in both runs", output)
    timings = [
        (tmp_path / "check" / run / "results" / "experiments" / "timings.tsv").read_text()
        for run in ("run1", "run2")
    ]
    assert all("train_seconds" in table for table in timings)
    comparison = (tmp_path / "check" / "run1" / "results" / "experiments" / "comparison.tsv").read_text()
    assert "seconds" not in comparison


def test_a_failing_run_stops_the_check_with_its_error(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"fit": {"epochs": 0}}))
    assert main(["--configfile", str(bad), "--workdir", str(tmp_path / "check")]) == 2
    output = capsys.readouterr().out
    assert "Invalid config at fit.epochs: 0 is less than the minimum of 1" in output
    assert (
        f"run 1 failed (snakemake exit status 1); its output: {tmp_path / 'check' / 'run1' / 'snakemake.out'}"
        in output
    )
    assert not (tmp_path / "check" / "run2").exists()


def test_the_runs_must_start_from_scratch(tmp_path, capsys):
    (tmp_path / "check").mkdir()
    (tmp_path / "check" / "old").write_text("")
    with pytest.raises(SystemExit) as stopped:
        main(["--workdir", str(tmp_path / "check")])
    assert stopped.value.code == 2
    assert "is not empty: the runs must start from scratch" in capsys.readouterr().err
