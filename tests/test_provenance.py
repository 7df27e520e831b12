"""The provenance record: versions, machine, data checksums and config, on the sample in resources/."""

import copy
import hashlib
import importlib.metadata
import platform
import subprocess
from pathlib import Path

import yaml

from mnist_cnn import ZENODO_FILES
from mnist_cnn.provenance import collect, git_version, recorded_config, write_provenance

REPO = Path(__file__).resolve().parents[1]
SAMPLE = [REPO / "resources" / "mnist_sample" / f"{name}.gz" for name in ZENODO_FILES]
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())


def test_record_holds_versions_machine_and_data_checksums():
    record = collect(SAMPLE, recorded_config(CONFIG), "9.27.1", "abc1234")
    assert record["workflow"] == {"version": "abc1234", "snakemake": "9.27.1"}
    software = record["software"]
    assert software["python"] == f"{platform.python_version()} (CPython)"
    for name in ("tensorflow", "keras", "numpy", "pandas", "scikit-learn", "h5py", "tf2onnx", "onnxruntime"):
        assert software[name] == importlib.metadata.version(name)
    assert record["machine"]["platform"] == platform.platform()
    assert record["machine"]["cpu"] and record["machine"]["cpus_available"] >= 1
    assert list(record["data"]) == [f"{name}.gz" for name in ZENODO_FILES]
    for path in SAMPLE:
        entry = record["data"][path.name]
        assert entry["md5"] == hashlib.md5(path.read_bytes()).hexdigest()
        assert entry["bytes"] == len(path.read_bytes()) and entry["path"] == str(path)
    assert record["config"]["fit"] == CONFIG["fit"]


def test_record_holds_what_train_computed_on(tmp_path):
    train_machine = {"host": "node7", "cpu": "a CPU", "threads": {"intra_op": 16, "inter_op": 1}}
    record = collect(SAMPLE, recorded_config(CONFIG), "9.27.1", "abc1234", train_machine)
    assert record["train"] == train_machine
    write_provenance(record, tmp_path / "provenance.yaml")
    assert yaml.safe_load((tmp_path / "provenance.yaml").read_text())["train"] == train_machine


def test_record_leaves_out_the_settings_no_rule_reruns_for():
    original = copy.deepcopy(CONFIG)
    kept = recorded_config(CONFIG)
    assert kept["zenodo"] == {"url": "https://zenodo.org", "record": 4697906}
    assert "threads" not in kept and "gpu" not in kept
    assert {k: v for k, v in kept.items() if k != "zenodo"} == {
        k: v for k, v in CONFIG.items() if k not in ("zenodo", "threads", "gpu")
    }
    assert CONFIG == original  # the workflow's config is not touched


def test_written_record_reads_back_the_same(tmp_path):
    record = collect(SAMPLE, recorded_config(CONFIG), "9.27.1", None)
    write_provenance(record, tmp_path / "provenance.yaml")
    text = (tmp_path / "provenance.yaml").read_text()
    assert yaml.safe_load(text) == record
    assert "    input_shape: [784]\n" in text  # short lists on one line, as in config.yaml


def test_git_version_names_the_commit_the_tag_and_local_changes(tmp_path):
    def git(*args):
        command = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.org", *args]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()

    assert git_version(tmp_path) is None  # not a checkout
    git("init", "-q")
    (tmp_path / "Snakefile").write_text("# one\n")
    git("add", "Snakefile")
    git("commit", "-q", "-m", "one")
    assert git_version(tmp_path) == git("rev-parse", "--short", "HEAD")
    git("tag", "-a", "v1.0", "-m", "release")
    assert git_version(tmp_path) == "v1.0"  # a tag at HEAD
    (tmp_path / "Snakefile").write_text("# two\n")
    assert git_version(tmp_path) == "v1.0-dirty"
    git("commit", "-q", "-am", "two")
    assert git_version(tmp_path) == f"v1.0-1-g{git('rev-parse', '--short', 'HEAD')}"
    assert git_version(REPO)  # this checkout has a version too
