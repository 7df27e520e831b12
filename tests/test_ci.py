"""What makes the tests and CI hold for a stranger: a clone that reads only itself, a CI file that
a fork on GitHub runs as it is, the README's test command in both CI scripts."""

import re
import subprocess
import sys
from pathlib import Path

import yaml
from workflow_runner import REPO

CI_FILE = REPO / ".github" / "workflows" / "ci.yml"


def readme_test_command() -> str:
    """The command in the README's block after "Run the tests"."""
    readme = (REPO / "README.md").read_text()
    block = re.search(r"\*\*Run the tests\*\*.*?```bash\n(.*?)\n```", readme, re.S)
    return block[1].split(" && ")[-1]


def test_tests_read_nothing_beside_the_repository():
    # the folder beside the clone, a path joined with its name, the old variable (split: not found here)
    name = "sha" + "red"
    needles = ("../" + name, f'"{name}"', "MNIST_IDX" + "_DIR")
    for path in sorted((REPO / "tests").rglob("*.py")):
        text = path.read_text()
        for needle in needles:
            assert needle not in text, f"{path.relative_to(REPO)} refers to {needle}"


def test_ci_scripts_run_the_readme_test_command():
    command = readme_test_command()
    assert command == ".venv/bin/python -m pytest"
    assert command in (REPO / ".ci" / "run").read_text().splitlines()
    steps = yaml.safe_load(CI_FILE.read_text())["jobs"]["tests"]["steps"]
    assert command in [step.get("run") for step in steps]


def test_ci_file_passes_actionlint():
    actionlint = Path(sys.executable).parent / "actionlint"  # requirements.txt installs it
    result = subprocess.run([actionlint, CI_FILE], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
