"""What makes the tests and CI hold for a stranger: a clone that reads only itself, a CI file that
a fork on GitHub runs as it is, the README's test command in both CI scripts."""

import inspect
import re
import subprocess
import sys
from pathlib import Path

import test_evaluation
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


def test_tests_sharing_a_fixture_of_their_module_run_on_one_worker(tmp_path):
    """pyproject.toml's xdist workers: the tests that use a fixture their module makes once (here
    test_evaluation.py's labels_and_guesses; elsewhere a workflow run or the SLURM cluster) run on
    one worker, so that it is made once (tests/conftest.py); the module's other tests go anywhere."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "-v", "-p", "no:cacheprovider", f"--basetemp={tmp_path}",
         "tests/test_evaluation.py"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    ran = {
        test: worker
        for worker, test in re.findall(r"^\[(gw\d+)\] .*PASSED \S+::(\S+)", result.stdout, flags=re.M)
    }
    sharing = {
        f"{name}@test_evaluation"
        for name, test in vars(test_evaluation).items()
        if name.startswith("test_") and "labels_and_guesses" in inspect.signature(test).parameters
    }
    assert sharing and len(sharing) < len(ran), result.stdout
    assert {test for test in ran if test.endswith("@test_evaluation")} == sharing, result.stdout
    assert len({ran[test] for test in sharing}) == 1, ran
