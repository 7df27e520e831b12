"""The benchmark scripts: they never delete a folder they did not make; what they measure comes through."""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
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


def test_the_cpu_log_gives_each_test_phase_under_xdist_and_suite_time_sums_it_by_module(tmp_path):
    """tests/conftest.py's --cpu-log, as benchmarks/suite_time.py runs it: a line per phase of each
    test from the xdist controller, the CPU of a test that computes in its call. And its census of
    the Python processes: pytest and its two workers, each with its CPU seconds."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from suite_time import census_environment, cpu_by_program, cpu_summary

    log, census = tmp_path / "cpu.jsonl", tmp_path / "processes.jsonl"
    tests = ["tests/test_config.py", "tests/test_evaluation.py::test_prediction_count_must_match_labels"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider", f"--cpu-log={log}", *tests],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=census_environment(census),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    phases = [json.loads(line) for line in log.read_text().splitlines()]
    ran = int(re.search(r"(\d+) passed", result.stdout)[1])
    assert len(phases) == 3 * ran
    assert {phase["phase"] for phase in phases} == {"setup", "call", "teardown"}
    assert all(phase["cpu_seconds"] >= 0 for phase in phases)
    by_module, most = cpu_summary(log)
    assert set(by_module) == {"tests/test_config.py", "tests/test_evaluation.py"}
    assert sum(by_module.values()) == pytest.approx(sum(phase["cpu_seconds"] for phase in phases), abs=0.1)
    assert len(most) == min(15, len(phases))
    programs = cpu_by_program(census)
    assert programs["pytest"]["processes"] == 1
    assert programs["python -c (pytest-xdist workers, pip's helpers)"]["processes"] >= 2
    assert all(entry["cpu_seconds"] > 0 for entry in programs.values())
    assert list(programs) == sorted(programs, key=lambda name: -programs[name]["cpu_seconds"])


def test_suite_time_passes_pytest_options_on_in_their_order():
    """`python benchmarks/suite_time.py -n 3`, as its docstring shows: pytest's options, with their
    values, wherever they stand; --results is the script's own."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from suite_time import RESULTS, arguments

    args, pytest_args = arguments(["-n", "3", "--results", "elsewhere", "tests", "-m", "not slow"])
    assert args.results == Path("elsewhere") and pytest_args == ["-n", "3", "tests", "-m", "not slow"]
    assert arguments([]) == (argparse.Namespace(results=RESULTS), [])
