"""Another workflow loads this one as a Snakemake module, as docs/module.md shows, with its own config."""

import re
import subprocess
import sys

import pandas as pd
import yaml
from conftest import SAMPLE
from workflow_runner import REPO

# The host Snakefile of docs/module.md as written; this checkout is its mnist-cnn/ folder.
HOST_SNAKEFILE = re.search(r"```python\n(.*?)```", (REPO / "docs" / "module.md").read_text(), re.S)[1]


def test_a_host_workflow_runs_this_one_as_a_module(tmp_path):
    (tmp_path / "Snakefile").write_text(HOST_SNAKEFILE)
    (tmp_path / "mnist-cnn").symlink_to(REPO)
    config = {"mnist_cnn": {"data": {"dir": str(SAMPLE)}, "fit": {"epochs": 1, "batch_size": 100}}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # this workflow's rules under the host's names, their files under the host's prefix
    for rule in ("mnist_check_data", "mnist_train", "mnist_predict", "mnist_evaluate"):
        assert f"rule {rule}:" in result.stdout + result.stderr
    predictions = pd.read_csv(tmp_path / "mnist" / "results" / "predictions.tsv", sep="\t")
    assert predictions.columns.tolist() == ["Predicted"] and len(predictions) == 1000
    assert (tmp_path / "mnist" / "results" / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "mnist" / "logs" / "train.log").exists()
    assert not (tmp_path / "results").exists()  # nothing outside the prefix
    # the host's rule all is the default target, not this workflow's, which would make everything
    assert not (tmp_path / "mnist" / "results" / "provenance.yaml").exists()
