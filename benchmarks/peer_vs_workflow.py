"""The workflow against a plain Keras script (benchmarks/peer_keras.py) on the full real MNIST.

Takes the four Zenodo TSVs of all of MNIST (``--data DIR``, see benchmarks/full_data.py),
downloads them once through a fake Zenodo on 127.0.0.1, then alternates the contenders, ``--rounds`` times each:

- peer: ``python benchmarks/peer_keras.py`` (whole process, and its phases);
- workflow: ``snakemake --cores 2`` from the downloaded TSVs to the confusion matrix and the
  classification report, the peer's job (whole, and each rule from benchmarks/), default config
  (float32, the tutorial's unscaled pixels);
- scaled: the default model with a Rescaling(1/255) layer first, in float32;
- fast: config/fast.yaml, that same model in ``precision: auto``.

Then an up-to-date rerun and a dry run of the default workflow. Prints a Markdown table and writes
it, with every figure, to ``--out`` (.md and .json). Medians over the rounds; ratios are of medians.

    python benchmarks/peer_vs_workflow.py [--rounds 3] [--out benchmarks/results/peer_vs_workflow]
    python benchmarks/peer_vs_workflow.py --table-from benchmarks/results/peer_vs_workflow.json
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "workflow" / "scripts"), str(REPO / "tests")]

from full_data import add_data_arguments, full_mnist_tsvs  # noqa: E402
from workflow_runner import run_snakemake  # noqa: E402
from zenodo_server import FakeZenodo  # noqa: E402

from mnist_cnn import ZENODO_FILES  # noqa: E402

TARGETS = ("results/confusion_matrix.png", "results/classification_report.tsv")
FIT_LINE = re.compile(r"fit: (\d+) training images in ([\d.]+) s")
PREDICT_LINE = re.compile(r"predicted (\d+) images in ([\d.]+) s")
PARSE_LINE = re.compile(r"parsed ([\d.]+) MB in ([\d.]+) s")
PRECISION_LINE = re.compile(r"precision: (\S+)")
FAST_CONFIG = REPO / "config" / "fast.yaml"
# name: (config overrides, config files) of each workflow contender
WORKFLOWS = {
    "workflow": ({}, ()),
    "scaled": ({"precision": "float32"}, (FAST_CONFIG,)),
    "fast": ({}, (FAST_CONFIG,)),
}


def log_match(path: Path, pattern: re.Pattern) -> tuple[float, float]:
    found = pattern.search(path.read_text())
    if not found:
        sys.exit(f"{path}: no line matching {pattern.pattern!r}")
    return float(found[1]), float(found[2])


def run_peer(data: Path, out: Path) -> dict:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "peer_keras.py"), str(data), str(out)],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(result.stdout + result.stderr)
    peer = json.loads(result.stdout.strip().splitlines()[-1])
    phases = peer["phases_s"]
    return {
        "wall_s": wall,
        "phases_s": phases,
        "fit_images_per_s": peer["fit_images"] / phases["fit"],
        "predict_images_per_s": peer["predict_images"] / phases["predict"],
        "parse_mb_per_s": peer["X_train_mb"] / phases["read_X_train"],
        "accuracy": peer["accuracy"],
    }


def clean_outputs(workdir: Path) -> None:
    """Everything but the downloaded TSVs, so the next run starts from downloaded data."""
    for path in (workdir / "results").rglob("*"):
        if path.is_file() and not (path.parent.name == "data" and path.suffix == ".tsv"):
            path.unlink()
    for folder in ("logs", "benchmarks"):
        shutil.rmtree(workdir / folder, ignore_errors=True)


def run_workflow(workdir: Path, config: dict, configfiles=()) -> dict:
    clean_outputs(workdir)
    start = time.perf_counter()
    result = run_snakemake(workdir, config, *TARGETS, configfiles=configfiles)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(result.output)
    rules = {}
    for bench in sorted((workdir / "benchmarks").glob("*.tsv")):
        row = pd.read_csv(bench, sep="\t").iloc[0]
        rules[bench.stem] = {"s": float(row["s"]), "max_rss_mb": float(row["max_rss"])}
    fit_images, fit_s = log_match(workdir / "logs" / "train.log", FIT_LINE)
    predict_images, predict_s = log_match(workdir / "logs" / "predict.log", PREDICT_LINE)
    megabytes, parse_s = log_match(workdir / "logs" / "check_data_train.log", PARSE_LINE)
    report = pd.read_csv(workdir / "results" / "classification_report.tsv", sep="\t", index_col=0)
    return {
        "wall_s": wall,
        "rules": rules,
        "fit_images_per_s": fit_images / fit_s,
        "predict_images_per_s": predict_images / predict_s,
        "parse_mb_per_s": megabytes / parse_s,
        "accuracy": float(report.loc["accuracy", "f1-score"]),
    }


def timed_snakemake(workdir: Path, config: dict, *args: str) -> float:
    start = time.perf_counter()
    result = run_snakemake(workdir, config, *TARGETS, *args)
    if result.returncode != 0 or "Nothing to be done" not in result.output:
        sys.exit(result.output)
    return time.perf_counter() - start


def median(runs: list[dict], *keys: str) -> float:
    values = []
    for run in runs:
        for key in keys:
            run = run[key]
        values.append(run)
    return statistics.median(values)


def machine() -> dict:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        **{name: version(name) for name in ("tensorflow", "keras", "snakemake", "pandas", "numpy")},
    }


def markdown(results: dict) -> str:
    peer, flow = results["peer"], results["workflow"]
    scaled, fast = results["scaled"], results["fast"]
    m = results["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, TensorFlow {m['tensorflow']}, "
        f"Keras {m['keras']}, Snakemake {m['snakemake']}. Full MNIST, {results['rounds']} rounds, "
        "contenders alternating; medians (ratio = workflow / peer unless said).",
        "",
        "| measure | peer | workflow | ratio |",
        "|---|---:|---:|---:|",
    ]

    def row(name, key, unit, fmt=".1f"):
        p, w = median(peer, key), median(flow, key)
        lines.append(f"| {name} ({unit}) | {p:{fmt}} | {w:{fmt}} | {w / p:.2f} |")

    row("wall time, downloaded data to confusion matrix", "wall_s", "s")
    row("fit throughput", "fit_images_per_s", "images/s", ".0f")
    row("prediction throughput", "predict_images_per_s", "images/s", ".0f")
    row("X_train.tsv parse throughput", "parse_mb_per_s", "MB/s")
    row("test accuracy", "accuracy", "", ".4f")
    for phase in ("import", "read", "build", "fit", "predict", "plot"):
        lines.append(f"| peer phase: {phase} (s) | {median(peer, 'phases_s', phase):.1f} | | |")
    fastest_peer, fastest_flow = min(r["wall_s"] for r in peer), min(r["wall_s"] for r in flow)
    lines += [
        "",
        f"Fastest round: peer {fastest_peer:.1f} s, workflow {fastest_flow:.1f} s, "
        f"ratio {fastest_flow / fastest_peer:.2f} (every round: peer "
        + ", ".join(f"{r['wall_s']:.1f}" for r in peer)
        + "; workflow "
        + ", ".join(f"{r['wall_s']:.1f}" for r in flow)
        + ").",
    ]
    lines += ["", "| rule | seconds | peak memory (MB) |", "|---|---:|---:|"]
    for rule in flow[0]["rules"]:
        lines.append(
            f"| {rule} | {median(flow, 'rules', rule, 's'):.1f} | "
            f"{max(run['rules'][rule]['max_rss_mb'] for run in flow):.0f} |"
        )
    lines += [
        "",
        f"Up-to-date rerun: {statistics.median(results['rerun_s']):.1f} s; "
        f"dry run: {statistics.median(results['dry_run_s']):.1f} s.",
        "",
        "| precision (Rescaling 1/255 first) | fit throughput (images/s) | test accuracy | wall (s) |",
        "|---|---:|---:|---:|",
    ]
    for name, runs in (("float32", scaled), (results["fast_precision"], fast)):
        lines.append(
            f"| {name} | {median(runs, 'fit_images_per_s'):.0f} | {median(runs, 'accuracy'):.4f} "
            f"| {median(runs, 'wall_s'):.1f} |"
        )
    speedup = median(fast, "fit_images_per_s") / median(scaled, "fit_images_per_s")
    points = 100 * (median(fast, "accuracy") - median(scaled, "accuracy"))
    lines.append(f"\nFast configuration: fit throughput x{speedup:.2f}, test accuracy {points:+.2f} points.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mnist-cnn-benchmark"))
    add_data_arguments(parser)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "peer_vs_workflow")
    parser.add_argument("--table-from", type=Path, help="only print the table of an earlier run's .json")
    args = parser.parse_args()
    if args.table_from:
        print(markdown(json.loads(args.table_from.read_text())), end="")
        return
    data = full_mnist_tsvs(args)
    shutil.rmtree(args.workdir, ignore_errors=True)

    first = args.workdir / "workflow"
    with FakeZenodo({name: data / name for name in ZENODO_FILES}) as zenodo:
        # later runs name the same URL: a changed download param would make Snakemake download again
        source = {"zenodo": {"url": zenodo.url}}
        download = run_snakemake(first, source, *(f"results/data/{name}" for name in ZENODO_FILES))
    if download.returncode != 0:
        sys.exit(download.output)
    data = first / "results" / "data"
    for name in WORKFLOWS:
        if name != "workflow":
            (args.workdir / name / "results").mkdir(parents=True)
            shutil.copytree(data, args.workdir / name / "results" / "data")

    results = {"machine": machine(), "rounds": args.rounds, "peer": []}
    results.update({name: [] for name in WORKFLOWS})
    for round_ in range(args.rounds):
        order = ["peer", *WORKFLOWS] if round_ % 2 == 0 else [*WORKFLOWS, "peer"]
        for name in order:
            if name == "peer":
                run = run_peer(data, args.workdir / "peer")
            else:
                overrides, configfiles = WORKFLOWS[name]
                run = run_workflow(args.workdir / name, {**source, **overrides}, configfiles)
            results[name].append(run)
            print(
                f"round {round_ + 1}, {name}: {run['wall_s']:.1f} s, accuracy {run['accuracy']:.4f}",
                flush=True,
            )
    results["rerun_s"] = [timed_snakemake(first, source) for _ in range(args.rounds)]
    results["dry_run_s"] = [timed_snakemake(first, source, "--dry-run") for _ in range(args.rounds)]
    results["fast_precision"] = PRECISION_LINE.search(
        (args.workdir / "fast" / "logs" / "train.log").read_text()
    )[1]

    table = markdown(results)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(table)
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
