"""The workflow against a plain Keras script (benchmarks/peer_keras.py), the same work, all of MNIST.

Takes the four Zenodo TSVs of all of MNIST (``--data DIR``, see benchmarks/full_data.py),
downloads them once through a fake Zenodo on 127.0.0.1, then alternates the contenders,
``--rounds`` times each, each from the downloaded TSVs (parsing included):

- peer: ``python benchmarks/peer_keras.py``: reads the TSVs with pandas, fits the tutorial's CNN
  (2 epochs, batch 500) on 80% of the training images and evaluates the other 20% after each
  epoch (``validation_split=0.2``), predicts the test images, draws the confusion matrix, writes
  the classification report;
- same job: ``snakemake --cores 2 results/confusion_matrix.png results/classification_report.tsv``,
  default config: the same job (check_data, model_config, model_builder, train on the seeded 80%
  with the 20% evaluated after each epoch, predict, evaluate);
- default run: ``snakemake --cores 2``: everything a default run does, the report's figures
  and tables and the provenance included.

With ``--precision``, also the tutorial's model with a Rescaling(1/255) layer first in float32
and config/fast.yaml (the same in ``precision: auto``), each as the same job.
Then an up-to-date rerun and a dry run. Prints a Markdown table and writes it, with every
figure, to ``--out`` (.md and .json). Ratios are workflow / peer.

    python benchmarks/peer_vs_workflow.py [--data DIR] [--rounds 3] [--precision] [--workdir DIR]
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
PRECISION_LINE = re.compile(r"precision: (\S+)")
FAST_CONFIG = REPO / "config" / "fast.yaml"
# name: (config overrides, config files, snakemake targets) of each workflow contender
WORKFLOWS = {
    "same_job": ({}, (), TARGETS),
    "default_run": ({}, (), ()),
}
PRECISION_WORKFLOWS = {
    "scaled": ({"precision": "float32"}, (FAST_CONFIG,), TARGETS),
    "fast": ({}, (FAST_CONFIG,), TARGETS),
}
LABELS = {"peer": "peer", "same_job": "workflow, same job", "default_run": "workflow, default run"}


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
    return {"wall_s": wall, "phases_s": peer["phases_s"], "accuracy": peer["accuracy"]}


def clean_outputs(workdir: Path) -> None:
    """Everything but the downloaded TSVs, so the next run starts from downloaded data."""
    for path in (workdir / "results").rglob("*"):
        if path.is_file() and not (path.parent.name == "data" and path.suffix == ".tsv"):
            path.unlink()
    for folder in ("logs", "benchmarks"):
        shutil.rmtree(workdir / folder, ignore_errors=True)


def run_workflow(workdir: Path, config: dict, configfiles=(), targets=()) -> dict:
    clean_outputs(workdir)
    start = time.perf_counter()
    result = run_snakemake(workdir, config, *targets, configfiles=configfiles)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(result.output)
    rules = {}
    for bench in sorted((workdir / "benchmarks").glob("*.tsv")):
        row = pd.read_csv(bench, sep="\t").iloc[0]
        rules[bench.stem] = {"s": float(row["s"]), "max_rss_mb": float(row["max_rss"])}
    fit = FIT_LINE.search((workdir / "logs" / "train.log").read_text())
    report = pd.read_csv(workdir / "results" / "classification_report.tsv", sep="\t", index_col=0)
    return {
        "wall_s": wall,
        "rules": rules,
        "fit_images_per_s": int(fit[1]) / float(fit[2]),
        "accuracy": float(report.loc["accuracy", "f1-score"]),
    }


def timed_snakemake(workdir: Path, config: dict, *args: str) -> float:
    start = time.perf_counter()
    result = run_snakemake(workdir, config, *args)
    if result.returncode != 0 or "Nothing to be done" not in result.output:
        sys.exit(result.output)
    return time.perf_counter() - start


def walls(runs: list[dict]) -> list[float]:
    return [run["wall_s"] for run in runs]


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
    m = results["machine"]
    peer, same, default = (walls(results[name]) for name in ("peer", "same_job", "default_run"))
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores; Python {m['python']}, TensorFlow {m['tensorflow']}, "
        f"Keras {m['keras']}, Snakemake {m['snakemake']}. Full MNIST from the downloaded TSVs, "
        f"{results['rounds']} rounds, contenders alternating; wall seconds.",
        "",
        "| round | " + " | ".join(LABELS.values()) + " |",
        "|---:|---:|---:|---:|",
    ]
    for index, row in enumerate(zip(peer, same, default, strict=True), 1):
        lines.append(f"| {index} | " + " | ".join(f"{value:.1f}" for value in row) + " |")
    lines.append(
        "| median | " + " | ".join(f"{statistics.median(v):.1f}" for v in (peer, same, default)) + " |"
    )
    lines.append("| fastest | " + " | ".join(f"{min(v):.1f}" for v in (peer, same, default)) + " |")
    lines += [
        "",
        "| ratio to the peer | by medians | by fastest rounds |",
        "|---|---:|---:|",
        f"| same job | {statistics.median(same) / statistics.median(peer):.2f} | {min(same) / min(peer):.2f} |",
        f"| default run | {statistics.median(default) / statistics.median(peer):.2f} "
        f"| {min(default) / min(peer):.2f} |",
        "",
        "Test accuracy: peer "
        + ", ".join(f"{run['accuracy']:.4f}" for run in results["peer"])
        + "; workflow "
        + ", ".join(f"{run['accuracy']:.4f}" for run in results["same_job"])
        + f". Up-to-date rerun: {statistics.median(results['rerun_s']):.1f} s; "
        f"dry run: {statistics.median(results['dry_run_s']):.1f} s (medians).",
        "",
        "| peer phase | median (s) |",
        "|---|---:|",
    ]
    for phase in results["peer"][0]["phases_s"]:
        phases = [run["phases_s"][phase] for run in results["peer"]]
        lines.append(f"| {phase} | {statistics.median(phases):.1f} |")
    lines += ["", "| rule (default run) | median seconds | peak memory (MB) |", "|---|---:|---:|"]
    runs = results["default_run"]
    for rule in runs[0]["rules"]:
        seconds = statistics.median(run["rules"][rule]["s"] for run in runs)
        peak = max(run["rules"][rule]["max_rss_mb"] for run in runs)
        lines.append(f"| {rule} | {seconds:.1f} | {peak:.0f} |")
    if "scaled" in results:
        lines += [
            "",
            "| precision (Rescaling 1/255 first), same job | fit throughput (images/s) | test accuracy | wall (s) |",
            "|---|---:|---:|---:|",
        ]
        for name, runs in (("float32", results["scaled"]), (results["fast_precision"], results["fast"])):
            throughput = statistics.median(run["fit_images_per_s"] for run in runs)
            accuracy = statistics.median(run["accuracy"] for run in runs)
            lines.append(
                f"| {name} | {throughput:.0f} | {accuracy:.4f} | {statistics.median(walls(runs)):.1f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--precision", action="store_true", help="also float32 and fast.yaml, scaled")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mnist-cnn-benchmark"))
    add_data_arguments(parser)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "peer_vs_workflow")
    parser.add_argument("--table-from", type=Path, help="only print the table of an earlier run's .json")
    args = parser.parse_args()
    if args.table_from:
        print(markdown(json.loads(args.table_from.read_text())), end="")
        return
    if args.workdir.exists() and any(args.workdir.iterdir()):
        sys.exit(f"--workdir {args.workdir} is not empty: remove it or pick another")
    data = full_mnist_tsvs(args)
    workflows = {**WORKFLOWS, **(PRECISION_WORKFLOWS if args.precision else {})}

    first = args.workdir / "same_job"
    with FakeZenodo({name: data / name for name in ZENODO_FILES}) as zenodo:
        # later runs name the same URL: a changed download param would make Snakemake download again
        source = {"zenodo": {"url": zenodo.url}}
        download = run_snakemake(first, source, *(f"results/data/{name}" for name in ZENODO_FILES))
    if download.returncode != 0:
        sys.exit(download.output)
    downloaded = first / "results" / "data"
    for name in workflows:
        if name != "same_job":
            (args.workdir / name / "results").mkdir(parents=True)
            shutil.copytree(downloaded, args.workdir / name / "results" / "data")

    results = {"machine": machine(), "rounds": args.rounds, "peer": []}
    results.update({name: [] for name in workflows})
    for round_ in range(args.rounds):
        order = ["peer", *workflows] if round_ % 2 == 0 else [*workflows, "peer"]
        for name in order:
            if name == "peer":
                run = run_peer(downloaded, args.workdir / "peer")
            else:
                overrides, configfiles, targets = workflows[name]
                run = run_workflow(args.workdir / name, {**source, **overrides}, configfiles, targets)
            results[name].append(run)
            print(
                f"round {round_ + 1}, {name}: {run['wall_s']:.1f} s, accuracy {run['accuracy']:.4f}",
                flush=True,
            )
    default = args.workdir / "default_run"
    results["rerun_s"] = [timed_snakemake(default, source) for _ in range(args.rounds)]
    results["dry_run_s"] = [timed_snakemake(default, source, "--dry-run") for _ in range(args.rounds)]
    if args.precision:
        train_log = (args.workdir / "fast" / "logs" / "train.log").read_text()
        results["fast_precision"] = PRECISION_LINE.search(train_log)[1]

    table = markdown(results)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(table)
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
