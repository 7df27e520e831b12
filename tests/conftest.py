"""Fixtures: the real MNIST digits of resources/mnist_sample as Zenodo-style TSVs, a fake Zenodo.
How the tests share the workers of pytest-xdist (pyproject.toml's addopts).

Tests read only what the repository holds: a fresh clone with nothing beside it runs them all.
"""

import gzip
import json
import os
import resource
import shutil
from pathlib import Path

import pytest
from _pytest.nodeid import NodeId
from slurm_cluster import remove_stale_conf
from zenodo_server import FakeZenodo

from mnist_cnn import ZENODO_FILES
from mnist_cnn.data import read_split

REPO = Path(__file__).resolve().parents[1]
# A stratified subset of the real MNIST: 300 training and 100 test images of every digit, gzipped.
SAMPLE = REPO / "resources" / "mnist_sample"
PER_CLASS = {"train": 300, "test": 100}


def pytest_addoption(parser):
    parser.addoption(
        "--cpu-log",
        type=Path,
        help="append each test phase's CPU seconds to this file, a JSON object a line "
        "(benchmarks/suite_time.py): this process's and its waited-for subprocesses', not SLURM jobs'",
    )


def cpu_seconds() -> float:
    """CPU time of this process and of the subprocesses it has waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_phase(item: pytest.Item, phase: str):
    """Runs a test's phase and keeps its CPU seconds as a user property of the test
    ("cpu_seconds_call", 12.3), which reaches the controller with the phase's report under pytest-xdist."""
    start = cpu_seconds()
    try:
        return (yield)
    finally:
        item.user_properties.append((f"cpu_seconds_{phase}", round(cpu_seconds() - start, 2)))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from timed_phase(item, "setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from timed_phase(item, "call"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item):
    return (yield from timed_phase(item, "teardown"))


class CpuLog:
    """--cpu-log: a line for each test phase, written where the reports arrive (under pytest-xdist,
    the controller)."""

    def __init__(self, path: Path):
        self.path = path

    def pytest_runtest_logreport(self, report):
        seconds = dict(report.user_properties).get(f"cpu_seconds_{report.when}")
        if seconds is not None:
            with open(self.path, "a") as log:
                log.write(
                    json.dumps({"test": report.nodeid, "phase": report.when, "cpu_seconds": seconds}) + "\n"
                )


def pytest_configure(config):
    if config.getoption("cpu_log") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(CpuLog(config.getoption("cpu_log")), "cpu_log")


def pytest_sessionstart(session):
    # a slurm.conf left by a killed session would cost every snakemake command 10 s (slurm_cluster.py)
    remove_stale_conf()


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist's (not there with -p no:xdist)
def pytest_xdist_auto_num_workers(config):
    """`-n auto`: a worker per CPU, and one more, for the tests that mostly wait (on SLURM's
    status checks, on installs) while the others compute. (Two more kept 2 cores as busy, but
    with 8 % more CPU for the same tests: benchmarks/suite_time.py with -n 4 and -n 3.)"""
    return len(os.sched_getaffinity(0)) + 1


def shared_fixture_group(item: pytest.Item) -> str | None:
    """The test's module, if the test uses a fixture of its module that is made once per module or
    session (a workflow run, a trained model, the SLURM cluster), or may ask for one by name."""
    module = item.module.__name__
    if "request" in item._fixtureinfo.argnames:  # request.getfixturevalue(...)
        return module
    for name in item.fixturenames:  # every fixture it needs, those of its fixtures too
        for fixture in item._fixtureinfo.name2fixturedefs.get(name, ()):
            if fixture.scope != "function" and fixture.func.__module__ == module:
                return module
    return None


@pytest.hookimpl(trylast=True)  # after -k and -m have left out what they leave out
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (--dist loadgroup): the tests that share such a fixture go to one worker,
    one after another, so that it is made once and no two of them run in its folder at once.
    The work is handed out longest first: the groups holding the most tests marked slow (the
    SLURM tests, which mostly wait, first of all), then the other groups, largest first, then
    the single tests in their order."""
    units: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        group = shared_fixture_group(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
            # xdist 3.8 groups by "<test id>@<group>" but writes it to item._nodeid, which pytest
            # 9.2 no longer reads: its test ids come from item._id. (On a worker, xdist keeps
            # --dist loadgroup as option.loadgroup.)
            if getattr(config.option, "loadgroup", False) and not item.nodeid.endswith(f"@{group}"):
                item._id = NodeId.parse(f"{item.nodeid}@{group}")
        units.setdefault(group or item.nodeid, []).append(index)
    if not hasattr(config, "workerinput"):  # not an xdist worker: the order stays
        return

    def rank(unit: list[int]):
        slow = sum(items[index].get_closest_marker("slow") is not None for index in unit)
        return (-slow, -len(unit) if len(unit) > 1 else 0, unit[0])

    items[:] = [items[index] for unit in sorted(units.values(), key=rank) for index in unit]


@pytest.fixture(scope="session")
def mnist_test(tsv_dir):
    """The sample's 1,000 real MNIST test images (uint8, an image per row) and labels."""
    return read_split(tsv_dir / "X_test.tsv", tsv_dir / "y_test.tsv", 784, 10)


@pytest.fixture(scope="session")
def tsv_dir(tmp_path_factory) -> Path:
    """X_train.tsv, y_train.tsv, X_test.tsv, y_test.tsv of the sample, uncompressed as on Zenodo
    (read-only use)."""
    folder = tmp_path_factory.mktemp("zenodo_tsvs")
    for name in ZENODO_FILES:
        with gzip.open(SAMPLE / f"{name}.gz", "rb") as packed, open(folder / name, "wb") as plain:
            shutil.copyfileobj(packed, plain)
    return folder


@pytest.fixture
def data_copy(tsv_dir, tmp_path) -> Path:
    """A private copy of the subset's TSVs, for a test to damage."""
    folder = tmp_path / "data"
    shutil.copytree(tsv_dir, folder)
    return folder


@pytest.fixture
def zenodo(tsv_dir):
    """A fake Zenodo on 127.0.0.1 serving the subset as record 4697906."""
    with FakeZenodo({name: tsv_dir / name for name in ZENODO_FILES}) as server:
        yield server
