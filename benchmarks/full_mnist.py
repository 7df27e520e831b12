"""The issue's acceptance run: the whole workflow on all of MNIST (60,000 + 10,000 images).

Serves the four Zenodo TSVs of all of MNIST (``--data DIR``, see benchmarks/full_data.py) from
a fake Zenodo on 127.0.0.1, runs `snakemake --cores 2` with the default config from download to
confusion matrix, once per random seed, and prints the wall time and test accuracy of each run,
and each rule's time and peak memory (from the rules' benchmark files) of the first.

    python benchmarks/full_mnist.py [--data DIR] [--workdir DIR] [--seeds 0 1 2 ...]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "workflow" / "scripts"), str(REPO / "tests")]

from full_data import add_data_arguments, full_mnist_tsvs  # noqa: E402
from workflow_runner import JOB_NAMES, run_snakemake  # noqa: E402
from zenodo_server import FakeZenodo  # noqa: E402

from mnist_cnn import ZENODO_FILES  # noqa: E402


def run_once(workdir: Path, data: Path, seed: int) -> tuple[float, float]:
    """One whole run from download to evaluation; (wall seconds, test accuracy)."""
    with FakeZenodo({name: data / name for name in ZENODO_FILES}) as zenodo:
        start = time.perf_counter()
        result = run_snakemake(workdir, {"zenodo": {"url": zenodo.url}, "random_seed": seed})
        wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(result.output)
    report = pd.read_csv(workdir / "results" / "classification_report.tsv", sep="\t", index_col=0)
    return wall, report.loc["accuracy", "f1-score"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mnist-cnn-full-run"))
    add_data_arguments(parser)
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="random_seed of each run (default: 0)"
    )
    args = parser.parse_args()
    data = full_mnist_tsvs(args)
    if args.workdir.exists():
        sys.exit(f"{args.workdir} exists: remove it or pick another --workdir")
    print("snakemake --cores 2, config.yaml, full MNIST (60,000 + 10,000 images)")
    print("| random_seed | wall (s) | test accuracy |\n|---:|---:|---:|")
    accuracies = []
    for seed in args.seeds:
        wall, accuracy = run_once(args.workdir / f"seed-{seed}", data, seed)
        accuracies.append(accuracy)
        print(f"| {seed} | {wall:.1f} | {accuracy:.4f} |", flush=True)
    if len(accuracies) > 1:
        print(
            f"test accuracy: median {statistics.median(accuracies):.4f}, min {min(accuracies):.4f}, max {max(accuracies):.4f}"
        )
    print(f"\nper rule, random_seed {args.seeds[0]}:\n| rule | seconds | max RSS (MB) |\n|---|---:|---:|")
    for rule in JOB_NAMES:
        bench = pd.read_csv(args.workdir / f"seed-{args.seeds[0]}" / "benchmarks" / f"{rule}.tsv", sep="\t")
        print(f"| {rule} | {bench['s'].iloc[0]:.1f} | {bench['max_rss'].iloc[0]:.0f} |")


if __name__ == "__main__":
    main()
