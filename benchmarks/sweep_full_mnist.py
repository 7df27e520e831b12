"""A sweep on all of MNIST (60,000 + 10,000 images): config/experiments.yaml, or another.

Writes the real MNIST from ../shared/data/mnist as Zenodo-style TSVs (cached; the same cache as
full_mnist.py), serves them from a fake Zenodo on 127.0.0.1, runs
`snakemake --cores 2 --configfile CONFIGFILE` and prints the wall time and
results/experiments/comparison.tsv as a Markdown table.

    python benchmarks/sweep_full_mnist.py [--configfile config/seeds.yaml] [--workdir DIR] [--cache DIR]
"""

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "workflow" / "scripts"), str(REPO / "tests")]

from conftest import MNIST_IDX  # noqa: E402
from workflow_runner import run_snakemake  # noqa: E402
from zenodo_server import FakeZenodo  # noqa: E402

from mnist_cnn import ZENODO_FILES  # noqa: E402
from mnist_cnn.mnist_idx import write_zenodo_tsvs  # noqa: E402

FORMATS = {"parameters": "{:,}", "epochs": "{}", "train_seconds": "{:.1f}"}


def markdown(table: pd.DataFrame) -> str:
    lines = [f"| experiment | {' | '.join(table.columns)} |", "|---" + "|---:" * len(table.columns) + "|"]
    for name in table.index:
        cells = [FORMATS.get(column, "{:.4f}").format(table.at[name, column]) for column in table.columns]
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mnist-cnn-sweep"))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mnist-cnn-full-tsv"))
    parser.add_argument("--configfile", type=Path, default=REPO / "config" / "experiments.yaml")
    args = parser.parse_args()
    if not all((args.cache / name).exists() for name in ZENODO_FILES):
        write_zenodo_tsvs(MNIST_IDX, args.cache, {"train": None, "test": None})
    if args.workdir.exists():
        sys.exit(f"{args.workdir} exists: remove it or pick another --workdir")
    with FakeZenodo({name: args.cache / name for name in ZENODO_FILES}) as zenodo:
        start = time.perf_counter()
        result = run_snakemake(
            args.workdir,
            {"zenodo": {"url": zenodo.url}},
            configfiles=(args.configfile,),
            timeout=3600,
        )
        wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(result.output)
    table = pd.read_csv(args.workdir / "results" / "experiments" / "comparison.tsv", sep="\t", index_col=0)
    table = table.astype({"parameters": int, "epochs": int})
    print(f"snakemake --cores 2 --configfile {args.configfile}, full MNIST (60,000 + 10,000 images)")
    print(f"wall time {wall:.0f} s, download to comparison\n")
    print(markdown(table))


if __name__ == "__main__":
    main()
