"""The issue's acceptance run: the whole workflow on all of MNIST (60,000 + 10,000 images).

Writes the real MNIST from ../shared/data/mnist as Zenodo-style TSVs (cached), serves them from
a fake Zenodo on 127.0.0.1, runs `snakemake --cores 2` with the default config from download to
confusion matrix, and prints the wall time, the test accuracy and each rule's time and peak
memory from the rules' benchmark files.

    python benchmarks/full_mnist.py [--workdir DIR] [--cache DIR]
"""

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "workflow" / "scripts"), str(REPO / "tests")]

from conftest import MNIST_IDX  # noqa: E402
from workflow_runner import JOB_NAMES, run_snakemake  # noqa: E402
from zenodo_server import FakeZenodo  # noqa: E402

from mnist_cnn import ZENODO_FILES  # noqa: E402
from mnist_cnn.mnist_idx import write_zenodo_tsvs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mnist-cnn-full-run"))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mnist-cnn-full-tsv"))
    args = parser.parse_args()
    if not all((args.cache / name).exists() for name in ZENODO_FILES):
        write_zenodo_tsvs(MNIST_IDX, args.cache, {"train": None, "test": None})
    if args.workdir.exists():
        sys.exit(f"{args.workdir} exists: remove it or pick another --workdir")
    with FakeZenodo({name: args.cache / name for name in ZENODO_FILES}) as zenodo:
        start = time.perf_counter()
        result = run_snakemake(args.workdir, {"zenodo": {"url": zenodo.url}})
        wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(result.output)
    report = pd.read_csv(args.workdir / "results" / "classification_report.tsv", sep="\t", index_col=0)
    print(f"snakemake --cores 2, default config, full MNIST: {wall:.1f} s wall")
    print(
        f"test accuracy: {report.loc['accuracy', 'f1-score']:.4f} on {report.loc['accuracy', 'support']} images"
    )
    print("| rule | seconds | max RSS (MB) |\n|---|---:|---:|")
    for rule in JOB_NAMES:
        bench = pd.read_csv(args.workdir / "benchmarks" / f"{rule}.tsv", sep="\t")
        print(f"| {rule} | {bench['s'].iloc[0]:.1f} | {bench['max_rss'].iloc[0]:.0f} |")


if __name__ == "__main__":
    main()
