"""A sweep on all of MNIST (60,000 + 10,000 images): config/experiments.yaml, or another.

Serves the four Zenodo TSVs of all of MNIST (``--data DIR``, see benchmarks/full_data.py) from a
fake Zenodo on 127.0.0.1, runs `snakemake --cores 2 --configfile CONFIGFILE` and prints the wall
time and the comparison (results/experiments/ or, for a single run with replicates,
results/replicates/): comparison.tsv, timings.tsv and, with replicates of two or more
experiments, differences.tsv, as Markdown tables.

    python benchmarks/sweep_full_mnist.py [--configfile config/seeds.yaml] [--replicates N]
                                          [--data DIR] [--workdir DIR] [--output FILE.json]

--output keeps the command, the machine, the wall time and every table as JSON, for the documents
that quote them (tests/test_docs.py checks the quotes against it).
"""

import argparse
import json
import os
import platform
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
from mnist_cnn.provenance import cpu_model  # noqa: E402

FORMATS = {
    "parameters": "{:,.0f}",
    "epochs": "{:g}",
    "replicates": "{}",
    "df": "{:.1f}",
    "p_value": "{:.3g}",
}


def cell(column: str, value) -> str:
    if isinstance(value, str | bool):
        return str(value)
    if column.startswith("train_seconds"):
        return f"{value:.1f}"
    return FORMATS.get(column, "{:.4f}").format(value)


def markdown(table: pd.DataFrame) -> str:
    lines = [f"| {' | '.join(table.columns)} |", "|---" + "|---:" * (len(table.columns) - 1) + "|"]
    for _, row in table.iterrows():
        lines.append(f"| {' | '.join(cell(column, row[column]) for column in table.columns)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mnist-cnn-sweep"))
    add_data_arguments(parser)
    parser.add_argument("--configfile", type=Path, default=REPO / "config" / "experiments.yaml")
    parser.add_argument("--replicates", type=int, help="replicates of each run (default: the config's)")
    parser.add_argument("--output", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args()
    data = full_mnist_tsvs(args)
    if args.workdir.exists():
        sys.exit(f"{args.workdir} exists: remove it or pick another --workdir")
    with FakeZenodo({name: data / name for name in ZENODO_FILES}) as zenodo:
        start = time.perf_counter()
        result = run_snakemake(
            args.workdir,
            {"zenodo": {"url": zenodo.url}, **({"replicates": args.replicates} if args.replicates else {})},
            configfiles=(args.configfile,),
            timeout=4 * 3600,  # replicates: N takes about N times as long as one sweep
        )
        wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(result.output)
    compared = args.workdir / "results" / "experiments"
    if not compared.exists():
        compared = args.workdir / "results" / "replicates"
    replicates = f" --config replicates={args.replicates}" if args.replicates else ""
    print(
        f"snakemake --cores 2 --configfile {args.configfile}{replicates}, full MNIST (60,000 + 10,000 images)"
    )
    print(f"wall time {wall:.0f} s, download to comparison")
    tables = {}
    for name in ("comparison", "replicates", "timings", "differences"):
        if (compared / f"{name}.tsv").exists():
            tables[name] = pd.read_csv(compared / f"{name}.tsv", sep="\t")
            print(f"\n{compared.relative_to(args.workdir)}/{name}.tsv:\n")
            print(markdown(tables[name]))
    if args.output:
        results = {
            "command": f"snakemake --cores 2 --configfile {args.configfile.name}{replicates}",
            "data": "full MNIST (60,000 + 10,000 images)",
            "machine": {
                "cpu": cpu_model(),
                "cores": len(os.sched_getaffinity(0)),
                "python": platform.python_version(),
            },
            "wall_s": wall,
            "tables": {name: json.loads(table.to_json(orient="records")) for name, table in tables.items()},
        }
        args.output.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
