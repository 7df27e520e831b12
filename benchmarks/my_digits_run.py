"""The run that docs/own-digits.md shows: config/sample.yaml and config/my_digits.yaml, as README.md
gives them, in a new folder; its figure and its numbers kept for the page.

Writes benchmarks/results/my_digits.json (the sample model's test accuracy, each image's predicted
digit and probability, the machine) and copies results/applied/digits.png to docs/my_digits.png.
tests/test_docs.py checks the page's table and accuracy against the JSON file.

    python benchmarks/my_digits_run.py [--data resources/mnist_sample] [--workdir DIR]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))

from mnist_cnn.provenance import cpu_model  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "my_digits.json"
FIGURE = REPO / "docs" / "my_digits.png"
TARGETS = [
    "results/applied/predictions.tsv",
    "results/applied/digits.png",
    "results/classification_report.tsv",
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=REPO / "resources" / "mnist_sample", help="data.dir of the run"
    )
    parser.add_argument("--workdir", type=Path, help="an empty folder for the run (default: a temporary one)")
    args = parser.parse_args(argv)
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="mnist-cnn-my-digits-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "resources").symlink_to(REPO / "resources")
    overrides = workdir / "data.yaml"
    overrides.write_text(json.dumps({"data": {"dir": str(args.data.resolve())}}))
    configfiles = [REPO / "config.yaml", REPO / "config" / "sample.yaml", REPO / "config" / "my_digits.yaml"]
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
        "--cores", "2", *TARGETS, "--configfile", *map(str, configfiles), str(overrides),
    ]  # fmt: skip
    subprocess.run(command, check=True, env={**os.environ, "SLURM_CONF": "/dev/null"})
    results = workdir / "results"
    report = pd.read_csv(results / "classification_report.tsv", sep="\t", index_col=0)
    predictions = pd.read_csv(results / "applied" / "predictions.tsv", sep="\t")
    classes = [column for column in predictions.columns if column.isdigit()]
    RESULTS.write_text(
        json.dumps(
            {
                "command": "snakemake --cores 2 --configfile config/sample.yaml config/my_digits.yaml",
                "date": time.strftime("%Y-%m-%d %H:%M"),
                "cpu_model": cpu_model(),
                "test_accuracy": float(report.loc["accuracy", "f1-score"]),
                "predictions": [
                    {
                        "image": row["image"],
                        "predicted": int(row["Predicted"]),
                        "probability": float(row[classes].max()),
                    }
                    for _, row in predictions.iterrows()
                ],
            },
            indent=2,
        )
        + "\n"
    )
    shutil.copyfile(results / "applied" / "digits.png", FIGURE)
    print(f"wrote {RESULTS.relative_to(REPO)} and {FIGURE.relative_to(REPO)} from the run in {workdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
