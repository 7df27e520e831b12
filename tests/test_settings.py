"""Settings are used or refused with a message naming the key: never silently ignored."""

import gzip
import hashlib
import re
import shutil

import pandas as pd
import pytest
from workflow_runner import KEEP_INCOMPLETE, REPO, files_below, run_snakemake

from mnist_cnn import InputError
from mnist_cnn.comparison import holdout_accuracy
from mnist_cnn.data import check_known_md5, md5sum
from mnist_cnn.training import write_scores
from mnist_cnn.urls import check_secure_url

SAMPLE = REPO / "resources" / "mnist_sample"


@pytest.fixture
def gzipped_data(tmp_path):
    """A copy of the repository's sample: the four TSVs gzipped, as data.dir."""
    folder = tmp_path / "data"
    shutil.copytree(SAMPLE, folder)
    return folder


def content_md5(path):
    return hashlib.md5(gzip.decompress(path.read_bytes())).hexdigest()


def test_md5_of_a_gzipped_file_under_either_name(gzipped_data):
    y = gzipped_data / "y_test.tsv.gz"
    plain, packed = content_md5(y), md5sum(y)
    assert plain != packed
    assert check_known_md5(y, {"y_test.tsv": plain}) == [
        "y_test.tsv.gz: md5 of its decompressed content matches data.md5 y_test.tsv"
    ]
    assert check_known_md5(y, {"y_test.tsv.gz": packed, "y_test.tsv": plain}) == [
        "y_test.tsv.gz: md5 matches data.md5 y_test.tsv.gz",
        "y_test.tsv.gz: md5 of its decompressed content matches data.md5 y_test.tsv",
    ]
    assert check_known_md5(y, {"X_test.tsv": plain}) == []
    with pytest.raises(
        InputError,
        match=f"y_test.tsv.gz: md5 of its decompressed content is {plain} but expected {packed} "
        r"\(data.md5 y_test.tsv in the config\)",
    ):
        check_known_md5(y, {"y_test.tsv": packed})


def test_readme_md5_example_checks_gzipped_files(gzipped_data, tmp_path):
    """data.md5 as the README writes it (X_train.tsv: <md5>) with gzipped files in data.dir."""
    x = gzipped_data / "X_train.tsv.gz"
    config = {"data": {"dir": str(gzipped_data), "md5": {"X_train.tsv": content_md5(x)}}}
    result = run_snakemake(tmp_path / "run", config, "results/data/train.npz")
    assert result.returncode == 0, result.output
    log = (tmp_path / "run" / "logs" / "check_data_train.log").read_text()
    assert "X_train.tsv.gz: md5 of its decompressed content matches data.md5 X_train.tsv" in log

    wrong = hashlib.md5(b"something else").hexdigest()
    config["data"]["md5"]["X_train.tsv"] = wrong
    result = run_snakemake(
        tmp_path / "run", config, "results/data/train.npz", "--forcerun", "check_data", KEEP_INCOMPLETE
    )
    assert result.returncode != 0
    assert f"X_train.tsv.gz: md5 of its decompressed content is {content_md5(x)} but expected {wrong}" in (
        result.output
    )
    assert files_below(tmp_path / "run" / "results") == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"md5": {"X_train.tsv": "0" * 32}},
            "data.md5 (X_train.tsv) is set but data.dir is empty: data.md5 checks files in data.dir",
        ),
        (
            {"dir": "DATA", "md5": {"X_train.tsv.gzip": "0" * 32}},
            "data.md5.X_train.tsv.gzip: matches no input file; data.dir DATA holds X_train.tsv.gz, "
            "y_train.tsv.gz, X_test.tsv.gz, y_test.tsv.gz",
        ),
        (
            {"dir": "PLAIN", "md5": {"y_test.tsv.gz": "0" * 32}},
            "data.md5.y_test.tsv.gz: matches no input file; data.dir PLAIN holds X_train.tsv, "
            "y_train.tsv, X_test.tsv, y_test.tsv",
        ),
    ],
    ids=["md5-without-dir", "unknown-name", "gz-name-of-a-plain-file"],
)
def test_md5_matching_no_input_is_a_config_error(gzipped_data, tmp_path, data, message):
    plain = tmp_path / "plain"
    plain.mkdir()
    for path in gzipped_data.iterdir():
        (plain / path.name.removesuffix(".gz")).write_bytes(gzip.decompress(path.read_bytes()))
    folders = {"DATA": str(gzipped_data), "PLAIN": str(plain)}
    if "dir" in data:
        data = {**data, "dir": folders[data["dir"]]}
        message = message.replace(" DATA ", f" {gzipped_data} ").replace(" PLAIN ", f" {plain} ")
    result = run_snakemake(tmp_path / "run", {"data": data}, "--dry-run")
    assert result.returncode != 0
    assert message in result.output


@pytest.mark.parametrize("where", ["", "experiments.unshuffled."])
def test_stratify_without_shuffle_is_a_config_error(tmp_path, where):
    holdout = {"shuffle": False, "stratify": True}
    config = {"experiments": {"unshuffled": {"holdout": holdout}}} if where else {"holdout": holdout}
    result = run_snakemake(tmp_path / "run", config, "--dry-run")
    assert result.returncode != 0
    assert (
        f"{where}holdout.stratify is true but {where}holdout.shuffle is false: an unshuffled holdout "
        f"is the last 20% of the rows in file order and cannot keep the class proportions; "
        f"set {where}holdout.stratify: false for that split" in result.output
    )
    holdout["stratify"] = False
    assert run_snakemake(tmp_path / "run", config, "--dry-run").returncode == 0


def test_model_json_instead_of_layers_is_logged(tmp_path):
    model_json = REPO / "tests" / "data" / "galaxy_keras_2.3.1_cnn.json"
    config = {"model": {"config_json": str(model_json)}}
    result = run_snakemake(tmp_path / "run", config, "results/model/model_config.json")
    assert result.returncode == 0, result.output
    log = (tmp_path / "run" / "logs" / "model_config.log").read_text()
    assert f"model.config_json is set: the model is {model_json}; model.layers is not used" in log


def test_holdout_accuracy_under_the_name_acc(tmp_path):
    """compile.metrics [acc] makes Keras name the score acc: the comparison still finds it."""
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", metrics=["acc"])
    scores = model.evaluate(np.eye(4), np.array([0, 1, 0, 1]), return_dict=True, verbose=0)
    write_scores(scores, tmp_path / "train_metrics.tsv")
    row = pd.read_csv(tmp_path / "train_metrics.tsv", sep="\t").iloc[0]
    assert "accuracy" not in row and row["acc"] in (0, 0.25, 0.5, 0.75, 1)
    assert holdout_accuracy(row) == row["acc"]


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("https://zenodo.org", False),
        ("http://127.0.0.1:8000", False),
        ("http://localhost:8000/", False),
        ("http://[::1]:8000", False),
        ("http://zenodo.org", True),
        ("http://127.0.0.1.example.org", True),
        ("ftp://127.0.0.1", True),
    ],
)
def test_plain_http_only_to_loopback(url, refused):
    if refused:
        with pytest.raises(
            InputError, match=f"zenodo.url: {re.escape(url)} is not https://: refused, because"
        ):
            check_secure_url(url)
    else:
        check_secure_url(url)


def test_plain_http_zenodo_url_is_a_config_error(tmp_path):
    result = run_snakemake(tmp_path / "run", {"zenodo": {"url": "http://zenodo.org"}}, "--dry-run")
    assert result.returncode != 0
    assert (
        "zenodo.url: http://zenodo.org is not https://: refused, because the md5 that checks each "
        "download comes from the same server" in result.output
    )
