"""The benchmark scripts' own safety: they never delete a folder they did not make."""

import subprocess
import sys

from workflow_runner import REPO

from mnist_cnn import ZENODO_FILES


def test_peer_vs_workflow_refuses_a_non_empty_workdir(tmp_path):
    workdir, cache = tmp_path / "work", tmp_path / "cache"
    workdir.mkdir()
    (workdir / "keep.txt").write_text("a user's file\n")
    cache.mkdir()
    for name in ZENODO_FILES:  # a cache is there: nothing to convert before the check
        (cache / name).touch()
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "peer_vs_workflow.py"),
            "--workdir",
            str(workdir),
            "--cache",
            str(cache),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert f"--workdir {workdir} is not empty: remove it or pick another" in result.stderr
    assert (workdir / "keep.txt").read_text() == "a user's file\n"
