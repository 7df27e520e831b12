"""The download, against a real HTTP server on 127.0.0.1 that answers like Zenodo."""

import hashlib

import pytest
from zenodo_server import closed_port_url

from mnist_cnn import ZENODO_FILES
from mnist_cnn.zenodo import DownloadError, download

FAST = {"retries": 3, "backoff": 0.01, "timeout": 5}


def md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_downloads_all_four_files_verified(zenodo, tsv_dir, tmp_path):
    paths = download(zenodo.url, zenodo.record, list(ZENODO_FILES), tmp_path, **FAST)
    assert [p.name for p in paths] == list(ZENODO_FILES)
    for name in ZENODO_FILES:
        assert md5(tmp_path / name) == md5(tsv_dir / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(ZENODO_FILES)


@pytest.mark.parametrize("status", [503, 429, 500])
def test_retries_error_statuses_then_succeeds(zenodo, tsv_dir, tmp_path, status):
    zenodo.statuses[zenodo.record_path] = [status, status]
    zenodo.statuses[zenodo.file_path("y_test.tsv")] = [status, status]
    download(zenodo.url, zenodo.record, ["y_test.tsv"], tmp_path, **FAST)
    assert zenodo.hits[zenodo.record_path] == 3
    assert zenodo.hits[zenodo.file_path("y_test.tsv")] == 3
    assert md5(tmp_path / "y_test.tsv") == md5(tsv_dir / "y_test.tsv")


def test_timeout_is_retried(zenodo, tsv_dir, tmp_path):
    zenodo.stall[zenodo.file_path("y_test.tsv")] = 1
    zenodo.stall_seconds = 1.0
    download(zenodo.url, zenodo.record, ["y_test.tsv"], tmp_path, **{**FAST, "timeout": 0.3})
    assert zenodo.hits[zenodo.file_path("y_test.tsv")] == 2
    assert md5(tmp_path / "y_test.tsv") == md5(tsv_dir / "y_test.tsv")


def test_connection_dropped_mid_file_is_downloaded_again(zenodo, tsv_dir, tmp_path):
    zenodo.drop[zenodo.file_path("X_test.tsv")] = 1
    download(zenodo.url, zenodo.record, ["X_test.tsv"], tmp_path, **FAST)
    assert zenodo.hits[zenodo.file_path("X_test.tsv")] == 2
    assert md5(tmp_path / "X_test.tsv") == md5(tsv_dir / "X_test.tsv")
    assert [p.name for p in tmp_path.iterdir()] == ["X_test.tsv"]


def test_wrong_md5_is_an_error_naming_file_and_both_checksums(zenodo, tsv_dir, tmp_path):
    zenodo.wrong_md5.add("y_train.tsv")
    with pytest.raises(DownloadError) as error:
        download(zenodo.url, zenodo.record, ["y_train.tsv"], tmp_path, **FAST)
    message = str(error.value)
    assert "y_train.tsv" in message
    assert "0" * 32 in message and md5(tsv_dir / "y_train.tsv") in message
    assert list(tmp_path.iterdir()) == []  # no partial, corrupt or temporary file left


def test_server_down_is_a_clear_error_after_bounded_retries(tmp_path):
    url = closed_port_url()
    with pytest.raises(DownloadError, match=f"could not fetch {url}/api/records/4697906"):
        download(url, 4697906, list(ZENODO_FILES), tmp_path, **FAST)
    assert list(tmp_path.iterdir()) == []


def test_persistent_503_gives_up(zenodo, tmp_path):
    zenodo.statuses[zenodo.file_path("y_test.tsv")] = [503] * 100
    with pytest.raises(DownloadError, match="y_test.tsv"):
        download(zenodo.url, zenodo.record, ["y_test.tsv"], tmp_path, **FAST)
    assert zenodo.hits[zenodo.file_path("y_test.tsv")] == 1 + FAST["retries"]
    assert list(tmp_path.iterdir()) == []


def test_file_missing_from_record_is_named(zenodo, tmp_path):
    with pytest.raises(DownloadError, match="has no file X_val.tsv .it has: X_test.tsv, X_train.tsv"):
        download(zenodo.url, zenodo.record, ["X_val.tsv"], tmp_path, **FAST)


def test_unknown_record_is_not_retried(zenodo, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(zenodo.url, 1, ["X_test.tsv"], tmp_path, **FAST)
    assert zenodo.hits["/api/records/1"] == 1
