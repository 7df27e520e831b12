"""The benchmark scripts' own safety: they never delete a folder they did not make."""

import re
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


def test_the_wheels_carried_to_a_gpu_machine_are_pinned_as_requirements_txt_pins_them():
    """benchmarks/gpu_wheels.txt: what benchmarks/gpu_jax.py carries to a GPU machine, at the
    versions the tests run on."""

    def pins(path):
        lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
        return {
            re.sub(r"[-_.]+", "-", name).lower(): version
            for name, version in (line.split("==") for line in lines if line)
        }

    carried, pinned = pins(REPO / "benchmarks" / "gpu_wheels.txt"), pins(REPO / "requirements.txt")
    assert {"snakemake", "keras", "optree", "namex"} <= set(carried)
    assert {name: pinned.get(name) for name in carried} == carried
