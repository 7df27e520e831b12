"""A sweep on all of MNIST (60,000 + 10,000 images): config/experiments.yaml, or another.

Serves the four Zenodo TSVs of all of MNIST (``--data DIR``, see benchmarks/full_data.py) from a
fake Zenodo on 127.0.0.1, runs
`snakemake --cores 2 --configfile CONFIGFILE` and prints the wall time and
results/experiments/comparison.tsv as a Markdown table.

    python benchmarks/sweep_full_mnist.py [--configfile config/seeds.yaml] [--data DIR] [--workdir DIR]
"""

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "workflow" / "scripts"), str(REPO / "tests")]

from full_data import add_data_arguments, full_mnist_tsvs  # noqa: E402
from workflow_runner import run_snakemake  # noqa: E402
from zenodo_server import FakeZenodo  # noqa: E402

from mnist_cnn import ZENODO_FILES  # noqa: E402

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
    add_data_arguments(parser)
    parser.add_argument("--configfile", type=Path, default=REPO / "config" / "experiments.yaml")
    args = parser.parse_args()
    data = full_mnist_tsvs(args)
    if args.workdir.exists():
        sys.exit(f"{args.workdir} exists: remove it or pick another --workdir")
    with FakeZenodo({name: data / name for name in ZENODO_FILES}) as zenodo:
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
