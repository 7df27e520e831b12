"""Run the workflow twice from scratch with the same config and seed; compare the results byte for byte.

    python tools/check_reproducibility.py [--configfile FILE ...] [--cores N] [--workdir DIR]
                                          [-- MORE SNAKEMAKE ARGUMENTS]

Each run starts in an empty folder of its own (run1/ and run2/ under --workdir, or under a
temporary folder that is removed when the check passes), with the config that `snakemake
--configfile FILE ...` run from the repository root has: config.yaml, then the given files,
every relative path in them made absolute. Every file under results/ must be the same in both
runs, byte for byte, with two exceptions: a Keras .keras archive holds the time it was saved
(metadata.json's date_saved and the zip's entry times), so it is compared member by member,
date_saved left out; and timings.tsv, the training times beside a comparison of experiments, is
left out. Prints one line per file and exits 0 when all are the same, 1 when any file differs or
is in one run only, 2 when a config file cannot be read or a run fails or writes nothing under
results/.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import yaml
from snakemake.common.configfile import load_configfile
from snakemake.exceptions import WorkflowError
from snakemake.utils import update_config

REPO = Path(__file__).resolve().parents[1]
# The Snakefile's `configfile: "config.yaml"`, which snakemake looks up in the folder it runs in:
# in a run from the repository root, this one; in run1/ and run2/, none. So the runs are given it
# as their first --configfile, and Snakemake merges the rest over it as it does from the root.
WORKFLOW_CONFIG = REPO / "config.yaml"
# Config keys that hold paths, by the section they are in, wherever that section is (at the top
# or in an experiment, experiments.<name>.model.config_json). A relative path is relative to where
# snakemake runs, so it is made absolute against the folder the check runs in before the runs
# move to their own folders.
PATH_KEYS = (
    ("data", "dir"),
    ("model", "config_json"),
    ("apply", "images"),
    ("apply", "model"),
    ("apply", "tables"),
)
ARCHIVE_NOTE = "member by member; Keras's date_saved left out"
# Files under results/ that hold wall times, which differ from run to run: not compared.
TIMINGS = "timings.tsv"
CHUNK = 1 << 16


def first_difference(first: bytes, second: bytes) -> str | None:
    """Where two files' bytes first differ, for people: byte offset, line if text, sizes."""
    if first == second:
        return None
    offset = 0
    while first[offset : offset + CHUNK] == second[offset : offset + CHUNK]:
        offset += CHUNK
    while offset < min(len(first), len(second)) and first[offset] == second[offset]:
        offset += 1
    where = f"first difference at byte {offset}"
    if b"\0" not in first[:CHUNK]:
        line = first.count(b"\n", 0, offset) + 1
        where += f", line {line}"
    return f"{where} (sizes {len(first)} and {len(second)} bytes)"


def keras_archive_difference(first: Path, second: Path) -> str | None:
    """How two .keras archives differ, leaving out the time of saving; None when they do not."""
    with zipfile.ZipFile(first) as one, zipfile.ZipFile(second) as two:
        names = sorted(one.namelist()), sorted(two.namelist())
        if names[0] != names[1]:
            return f"members differ: {names[0]} and {names[1]}"
        for name in names[0]:
            contents = one.read(name), two.read(name)
            if name == "metadata.json":
                contents = tuple(json.loads(c) for c in contents)
                for metadata in contents:
                    metadata.pop("date_saved", None)
                if contents[0] != contents[1]:
                    return f"member {name}: {contents[0]} and {contents[1]}"
            elif difference := first_difference(*contents):
                return f"member {name}: {difference}"
    return None


def file_difference(first: Path, second: Path) -> str | None:
    if first.suffix == ".keras":
        return keras_archive_difference(first, second)
    return first_difference(first.read_bytes(), second.read_bytes())


def compare_results(first: Path, second: Path) -> list[tuple[str, str | None]]:
    """(path under the two folders, how the two differ or None) for every file in either, but
    the timings tables."""
    paths = sorted(
        {
            p.relative_to(folder).as_posix()
            for folder in (first, second)
            for p in folder.rglob("*")
            if p.is_file() and p.name != TIMINGS
        }
    )
    compared = []
    for path in paths:
        if not (first / path).is_file():
            compared.append((path, "only in run 2"))
        elif not (second / path).is_file():
            compared.append((path, "only in run 1"))
        else:
            compared.append((path, file_difference(first / path, second / path)))
    return compared


def absolute_paths_config(configfiles: list[Path], base: Path) -> dict:
    """A config that makes every relative path of ``configfiles`` absolute against ``base``: the
    files merged in order as Snakemake merges them, then the PATH_KEYS at any depth."""
    config = {}
    for configfile in configfiles:
        try:
            update_config(config, load_configfile(configfile))
        except WorkflowError as error:
            raise WorkflowError(f"--configfile {configfile}: {error}") from None
    return absolute_paths(config, base)


def absolute_paths(values: dict, base: Path, section=None) -> dict:
    """The relative paths below ``values`` (the mapping under ``section``), made absolute, in
    mappings as they are nested there."""
    overrides = {}
    for key, value in values.items():
        if isinstance(value, dict):
            if nested := absolute_paths(value, base, key):
                overrides[key] = nested
        elif (section, key) in PATH_KEYS:
            paths = value if isinstance(value, list) else [value]  # a list: apply.tables
            # a value of the wrong type is left to the runs, whose config check names it
            if any(isinstance(path, str) and path and not Path(path).is_absolute() for path in paths):
                absolute = [
                    str((base / path).resolve()) if isinstance(path, str) and path else path for path in paths
                ]
                overrides[key] = absolute if isinstance(value, list) else absolute[0]
    return overrides


def run_workflow(
    workdir: Path, configfiles: list[Path], cores: int, more_args: list[str]
) -> tuple[int, float]:
    """One run of the whole workflow in ``workdir``; (exit status, seconds). Output: workdir/snakemake.out."""
    workdir.mkdir(parents=True)
    command = [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(workdir),
        "--cores", str(cores),
        *more_args,  # before --configfile, which would take a target given here as a config file
        "--configfile", *map(str, configfiles),
    ]  # fmt: skip
    start = time.perf_counter()
    with open(workdir / "snakemake.out", "w") as out:
        status = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT).returncode
    return status, time.perf_counter() - start


def check(configfiles: list[Path], cores: int, workdir: Path, more_args: list[str]) -> int:
    """Two runs and their comparison, reported on stdout; the exit status (see the module's docstring)."""
    configfiles = [WORKFLOW_CONFIG, *configfiles]
    try:
        overrides = absolute_paths_config(configfiles, Path.cwd())
    except WorkflowError as error:
        print(error)
        return 2
    if overrides:
        (workdir / "paths.yaml").write_text(yaml.safe_dump(overrides))
        configfiles = [*configfiles, workdir / "paths.yaml"]
    runs = [workdir / "run1", workdir / "run2"]
    for number, run in enumerate(runs, 1):
        status, seconds = run_workflow(run, configfiles, cores, more_args)
        print(f"run {number}: {run} ({seconds:.0f} s)", flush=True)
        if status != 0:
            tail = (run / "snakemake.out").read_text().splitlines()[-30:]
            print("\n".join(tail))
            print(
                f"run {number} failed (snakemake exit status {status}); its output: {run / 'snakemake.out'}"
            )
            return 2
    compared = compare_results(runs[0] / "results", runs[1] / "results")
    if not compared:
        print("the runs wrote nothing under results/: nothing to compare")
        return 2
    for timings in sorted((runs[0] / "results").rglob(TIMINGS)):
        print(f"{'left out':8} {timings.relative_to(runs[0]).as_posix()} (wall times)")
    for path, difference in compared:
        note = f" ({ARCHIVE_NOTE})" if path.endswith(".keras") and difference is None else ""
        print(f"{'same' if difference is None else 'DIFFERS':8} results/{path}{note}")
        if difference:
            print(f"         {difference}")
    differing = sum(difference is not None for _, difference in compared)
    if differing:
        print(f"{differing} of {len(compared)} files differ between the two runs in {workdir}")
        return 1
    print(f"all {len(compared)} files under results/ are the same in both runs")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--configfile",
        type=Path,
        nargs="+",
        default=[REPO / "config" / "sample.yaml"],
        help="config files of both runs, as snakemake takes them (default: config/sample.yaml)",
    )
    parser.add_argument("--cores", type=int, default=2, help="snakemake --cores of both runs (default: 2)")
    parser.add_argument(
        "--workdir",
        type=Path,
        help="an empty or new folder for the two runs, kept (default: a temporary one)",
    )
    parser.add_argument(
        "snakemake_args", nargs="*", help="after --: more snakemake arguments, e.g. --sdm conda"
    )
    args = parser.parse_args(argv)
    configfiles = [path.resolve() for path in args.configfile]
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        if any(args.workdir.iterdir()):
            parser.error(f"--workdir {args.workdir} is not empty: the runs must start from scratch")
        return check(configfiles, args.cores, args.workdir.resolve(), args.snakemake_args)
    workdir = Path(tempfile.mkdtemp(prefix="mnist-cnn-reproducibility-"))
    status = check(configfiles, args.cores, workdir, args.snakemake_args)
    if status == 0:
        shutil.rmtree(workdir)
    else:
        print(f"the two runs are kept in {workdir}")
    return status


if __name__ == "__main__":
    sys.exit(main())
