"""Another workflow loads this one as a Snakemake module, as docs/module.md shows, with its own config."""

import os
import re
import shutil
import subprocess
import sys

import pandas as pd
import yaml
from conftest import SAMPLE
from workflow_runner import REPO

# The host Snakefiles of docs/module.md as written: the first with this checkout as its mnist-cnn/
# folder, the second loading this workflow from its git repository at a tag (snakedeploy's form).
HOST_SNAKEFILE, DEPLOYED_SNAKEFILE = re.findall(
    r"```python\n(.*?)```", (REPO / "docs" / "module.md").read_text(), re.S
)


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


def git(*args, cwd):
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.org", *args], cwd=cwd, check=True
    )


def test_a_host_workflow_loads_this_one_from_its_git_repository(tmp_path):
    """github("owner/repo", path=..., tag=...) without the network: every file a job needs comes
    through Snakemake's source cache, from a git repository whose work tree is gone."""
    source = tmp_path / "source"  # this checkout's files as git tracks them, committed and tagged
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True)
    for name in filter(None, tracked.stdout.split("\0")):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    git("init", "--quiet", cwd=source)
    git("add", "--all", cwd=source)
    git("commit", "--quiet", "--message", "this checkout", cwd=source)
    git("tag", "v1.0.0", cwd=source)
    # Snakemake's own clone of github.com/example/mnist-cnn, where it keeps it (XDG_CACHE_HOME)
    cache = tmp_path / "cache"
    source_cache = cache / "snakemake" / "snakemake" / "source-cache"
    clone = source_cache / "snakemake-git-cache" / "github.com" / "example" / "mnist-cnn"
    git("clone", "--quiet", "--bare", str(source), str(clone), cwd=tmp_path)
    shutil.rmtree(source)
    host = tmp_path / "host"
    (host / "config").mkdir(parents=True)
    snakefile = DEPLOYED_SNAKEFILE.replace("<owner>/<repo>", "example/mnist-cnn").replace("<tag>", "v1.0.0")
    (host / "Snakefile").write_text(snakefile)
    config = {"mnist_cnn": {"data": {"dir": str(SAMPLE)}, "fit": {"epochs": 1, "batch_size": 100}}}
    (host / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    # git may read files only: a fetch from github.com would fail
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "GIT_ALLOW_PROTOCOL": "file"}
    env.pop("PYTHONPATH", None)
    for args in (["--cores", "2"], ["--report", "report.html"]):
        result = subprocess.run(
            [sys.executable, "-m", "snakemake", *args], cwd=host, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
    predictions = pd.read_csv(host / "mnist" / "results" / "predictions.tsv", sep="\t")
    assert predictions.columns.tolist() == ["Predicted"] and len(predictions) == 1000
    assert (host / "mnist" / "results" / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    assert "confusion_matrix.png" in (host / "report.html").read_text()
    # the package the scripts imported, beside them in the source cache (git show drops the last newline)
    cached = source_cache / "hosted-git" / "githubfile" / "github.com" / "example" / "mnist-cnn" / "v1.0.0"
    package = REPO / "workflow" / "scripts" / "mnist_cnn"
    for module in package.glob("*.py"):
        cached_module = cached / "workflow" / "scripts" / "mnist_cnn" / module.name
        assert cached_module.read_text().rstrip() == module.read_text().rstrip()
    assert (cached / "workflow" / "scripts" / "train.py").is_file()


def test_the_package_files_named_for_a_module_loaded_from_git_are_all_its_files():
    """workflow/rules/config.smk names each file of mnist_cnn, which the source cache copies one by one."""
    config_smk = (REPO / "workflow" / "rules" / "config.smk").read_text()
    named = re.findall(r'"(\w+\.py)"', re.search(r"PACKAGE_FILES = \((.*?)\)", config_smk, re.S)[1])
    assert sorted(named) == sorted(
        path.name for path in (REPO / "workflow" / "scripts" / "mnist_cnn").glob("*.py")
    )
