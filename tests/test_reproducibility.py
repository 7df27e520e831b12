"""tools/check_reproducibility.py: its comparison on real files, and the command on the sample data."""

import gzip
import os
import re
import shutil
import subprocess
import sys
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
    # config.yaml's empty paths stay empty: nothing to make absolute
    assert absolute_paths_config([REPO / "config.yaml"], tmp_path) == {}


def test_relative_paths_of_experiments_become_absolute_and_files_merge_as_snakemake_merges(tmp_path):
    """Any depth: an experiment's model.config_json too; the files merged key by key, in order."""
    (tmp_path / "a.json").write_text('{"experiments": {"mine": {"model": {"config_json": "a.json"}}}}')
    experiments = {
        "mine": {"fit": {"epochs": 1}},
        "other": {"model": {"config_json": "models/other.json"}},
        "absolute": {"model": {"config_json": "/abs/model.json"}},
        "empty": None,
    }
    (tmp_path / "b.yaml").write_text(yaml.safe_dump({"experiments": experiments}))
    files = [REPO / "config.yaml", tmp_path / "a.json", tmp_path / "b.yaml"]
    assert absolute_paths_config(files, tmp_path / "here") == {
        "experiments": {
            "mine": {"model": {"config_json": str(tmp_path / "here" / "a.json")}},
            "other": {"model": {"config_json": str(tmp_path / "here" / "models" / "other.json")}},
        }
    }


@pytest.mark.slow
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


def test_the_runs_read_config_yaml_as_a_run_from_the_repository_root_does(tmp_path):
    """The Snakefile's configfile, config.yaml, is read from the folder snakemake runs in: the
    check's runs, each in its own folder, read the repository's. A copy of the repository whose
    config.yaml sets another holdout size and random seed: both runs record them (the check run on
    one job, the config each run records, as users run it from the copy's root)."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for path in ("Snakefile", "workflow", "envs", "tools", "config", "resources/mnist_sample"):
        if (REPO / path).is_dir():
            shutil.copytree(REPO / path, checkout / path, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO / path, checkout / path)
    changed = yaml.safe_load((REPO / "config.yaml").read_text())
    assert (changed["holdout"]["test_size"], changed["random_seed"]) == (0.2, 0)
    changed["holdout"]["test_size"] = 0.25
    changed["random_seed"] = 7
    (checkout / "config.yaml").write_text(yaml.safe_dump(changed))
    command = [sys.executable, "tools/check_reproducibility.py", "--workdir", str(tmp_path / "check")]
    checked = subprocess.run(
        [*command, "--", "results/config.yaml"], cwd=checkout, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "same     results/config.yaml\n" in checked.stdout
    for run in ("run1", "run2"):
        recorded = yaml.safe_load((tmp_path / "check" / run / "results" / "config.yaml").read_text())
        assert recorded["holdout"]["test_size"] == 0.25
        assert recorded["random_seed"] == 7
        assert recorded["fit"] == {**changed["fit"], "epochs": 10, "batch_size": 100}  # config/sample.yaml
        assert recorded["data"]["dir"] == str(checkout / "resources" / "mnist_sample")


@pytest.mark.slow
def test_the_check_of_a_sweep_finds_the_comparison_the_same(tmp_path, capsys):
    """Two experiments (small dense models, one epoch on the sample): the comparison is the same in
    both runs; the training times, which are not, are in timings.tsv and left out. The second
    experiment's model is a JSON file named by a path relative to where the check runs, as a user
    names one from the repository root: each run, in its own folder, finds it. The runs make the
    comparison and what it needs, not the report's figures of each experiment (which the check of
    the single run above compares)."""
    dense = {"model": {"layers": [{"type": "Dense", "args": {"units": 10, "activation": "softmax"}}]}}
    model_json = tmp_path / "softmax.json"
    model_json.write_text(build_model(CONFIG["model"]["input_shape"], dense["model"]["layers"]).to_json())
    from_json = {"model": {"config_json": os.path.relpath(model_json)}, "random_seed": 1}
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        yaml.safe_dump(
            {"fit": {"epochs": 1}, "experiments": {"softmax": dense, "softmax_json_seed_1": from_json}}
        )
    )
    configfiles = [str(REPO / "config" / "sample.yaml"), str(sweep)]
    recorded_config = "results/experiments/softmax_json_seed_1/config.yaml"
    compared = ["results/experiments/comparison.tsv", "results/experiments/comparison.png", recorded_config]
    status = main(["--configfile", *configfiles, "--workdir", str(tmp_path / "check"), "--", *compared])
    output = capsys.readouterr().out
    assert status == 0, output
    assert "same     results/experiments/comparison.tsv\n" in output
    assert "same     results/experiments/comparison.png\n" in output
    assert "same     results/experiments/softmax_json_seed_1/predictions.tsv\n" in output
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
    recorded = yaml.safe_load((tmp_path / "check" / "run1" / recorded_config).read_text())
    assert recorded["model"]["config_json"] == str(model_json)


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


def test_a_config_file_that_is_no_yaml_stops_the_check_before_any_run(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("fit:\n  epochs: [1\n")
    assert main(["--configfile", str(bad), "--workdir", str(tmp_path / "check")]) == 2
    assert f"--configfile {bad}: Config file is not valid JSON or YAML" in capsys.readouterr().out
    assert list((tmp_path / "check").iterdir()) == []


def test_the_runs_must_start_from_scratch(tmp_path, capsys):
    (tmp_path / "check").mkdir()
    (tmp_path / "check" / "old").write_text("")
    with pytest.raises(SystemExit) as stopped:
        main(["--workdir", str(tmp_path / "check")])
    assert stopped.value.code == 2
    assert "is not empty: the runs must start from scratch" in capsys.readouterr().err
