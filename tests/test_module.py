"""Another workflow loads this one as a Snakemake module, as docs/module.md shows, with its own config."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pandas as pd
import yaml
from conftest import SAMPLE
from workflow_runner import REPO

MODULE_PAGE = (REPO / "docs" / "module.md").read_text()
# The host Snakefiles of docs/module.md as written: the first with this checkout as its mnist-cnn/
# folder, the second loading this workflow from its git repository at a tag (snakedeploy's form);
# then the Snakefile that loads it from a local repository with gitfile() instead.
HOST_SNAKEFILE, DEPLOYED_SNAKEFILE, GITFILE_SNAKEFILE = re.findall(r"```python\n(.*?)```", MODULE_PAGE, re.S)
# docs/module.md's commands for a host that loads this workflow with gitfile(): its run and its report
GITFILE_COMMANDS = re.search(r"```bash\n(.*?)```", MODULE_PAGE.split("(gitfile)")[1], re.S)[1].splitlines()
# The host's config: this workflow on the sample, one epoch
HOST_CONFIG = {"mnist_cnn": {"data": {"dir": str(SAMPLE)}, "fit": {"epochs": 1, "batch_size": 100}}}


def test_a_host_workflow_runs_this_one_as_a_module(tmp_path):
    (tmp_path / "Snakefile").write_text(HOST_SNAKEFILE)
    (tmp_path / "mnist-cnn").symlink_to(REPO)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(HOST_CONFIG))
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


def tagged_repository(folder, tag):
    """A git repository in ``folder`` holding this checkout's files as git tracks them, committed
    and tagged ``tag``; then its work tree emptied (every file deleted but .git), so that what is
    read from it comes from git's objects."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True)
    for name in filter(None, tracked.stdout.split("\0")):
        if (REPO / name).is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, folder / name)
    git("init", "--quiet", cwd=folder)
    git("add", "--all", cwd=folder)
    git("commit", "--quiet", "--message", "this checkout", cwd=folder)
    git("tag", tag, cwd=folder)
    for path in folder.iterdir():
        if path.name != ".git":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    return folder


def host_workflow(folder, snakefile):
    """A host workflow in ``folder``: ``snakefile``, and HOST_CONFIG as its config/config.yaml."""
    (folder / "config").mkdir(parents=True)
    (folder / "Snakefile").write_text(snakefile)
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(HOST_CONFIG))
    return folder


def snakemake_in(folder, *args, cache):
    """``snakemake *args`` in ``folder`` with its source cache below ``cache``, where git may read
    files only (a fetch from github.com would fail), and no path to this checkout."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "GIT_ALLOW_PROTOCOL": "file"}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=folder, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_a_host_workflow_loads_this_one_from_its_git_repository(tmp_path):
    """github("owner/repo", path=..., tag=...) without the network: the whole run planned, and a
    job run that imports the package from Snakemake's source cache, of a repository whose work tree
    is gone."""
    # Snakemake's own clone of github.com/example/mnist-cnn, where it keeps it (XDG_CACHE_HOME)
    cache = tmp_path / "cache"
    source_cache = cache / "snakemake" / "snakemake" / "source-cache"
    clone = source_cache / "snakemake-git-cache" / "github.com" / "example" / "mnist-cnn"
    repository = tagged_repository(tmp_path / "mnist-cnn", "v1.0.0")
    git("clone", "--quiet", "--bare", str(repository), str(clone), cwd=tmp_path)
    shutil.rmtree(repository)
    snakefile = DEPLOYED_SNAKEFILE.replace("<owner>/<repo>", "example/mnist-cnn").replace("<tag>", "v1.0.0")
    host = host_workflow(tmp_path / "host", snakefile)
    planned = snakemake_in(host, "--dry-run", cache=cache)
    for rule in ("mnist_check_data", "mnist_train", "mnist_predict", "mnist_evaluate"):
        assert f"rule {rule}:" in planned
    snakemake_in(host, "--cores", "1", "mnist/results/model/model_config.json", cache=cache)
    assert json.loads((host / "mnist" / "results" / "model" / "model_config.json").read_text())["config"][
        "layers"
    ]
    # the package the script imported, beside it in the source cache (git show drops the last newline)
    cached = source_cache / "hosted-git" / "githubfile" / "github.com" / "example" / "mnist-cnn" / "v1.0.0"
    package = REPO / "workflow" / "scripts" / "mnist_cnn"
    for module in package.glob("*.py"):
        cached_module = cached / "workflow" / "scripts" / "mnist_cnn" / module.name
        assert cached_module.read_text().rstrip() == module.read_text().rstrip()
    assert (cached / "workflow" / "scripts" / "model_config.py").is_file()


def test_a_host_workflow_loads_a_tag_of_a_local_repository_with_gitfile(tmp_path):
    """gitfile(repo_path=..., path=..., tag=...), as docs/module.md shows it, from a repository
    whose work tree is empty: the sample to the confusion matrix, and the report."""
    repository = tagged_repository(tmp_path / "mnist-cnn", "v1.0.0")
    gitfile = re.search(r"gitfile\(.*\)", GITFILE_SNAKEFILE)[0]
    gitfile = gitfile.replace("/path/to/mnist-cnn", str(repository)).replace("<tag>", "v1.0.0")
    host = host_workflow(tmp_path / "host", re.sub(r"github\(.*\)", gitfile, DEPLOYED_SNAKEFILE))
    run, report = (shlex.split(command) for command in GITFILE_COMMANDS)
    output = snakemake_in(host, *run[1:], cache=tmp_path / "cache")
    for rule in ("mnist_check_data", "mnist_train", "mnist_predict", "mnist_evaluate"):
        assert f"rule {rule}:" in output
    predictions = pd.read_csv(host / "mnist" / "results" / "predictions.tsv", sep="\t")
    assert predictions.columns.tolist() == ["Predicted"] and len(predictions) == 1000
    assert (host / "mnist" / "results" / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    snakemake_in(host, *report[1:], cache=tmp_path / "cache")
    assert "confusion_matrix.png" in (host / "report.html").read_text()


def test_the_package_files_named_for_a_module_loaded_from_git_are_all_its_files():
    """workflow/rules/config.smk names each file of mnist_cnn, which the source cache copies one by one."""
    config_smk = (REPO / "workflow" / "rules" / "config.smk").read_text()
    named = re.findall(r'"(\w+\.py)"', re.search(r"PACKAGE_FILES = \((.*?)\)", config_smk, re.S)[1])
    assert sorted(named) == sorted(
        path.name for path in (REPO / "workflow" / "scripts" / "mnist_cnn").glob("*.py")
    )
