"""The pinned environments: envs/*.yaml for `--sdm conda`, requirements.txt for pip.

Conda channels cannot be reached here, so the env files are checked, not built: each parses,
pins exact versions, agrees with requirements.txt, holds every package its rules import, is what
tools/lock_envs.py writes, and resolves with pip to exactly its own pins. The last two ask the
package index; without one they are skipped, except in CI (CI=true), where they fail.
"""

import ast
import importlib.metadata
import os
import re
import sys
from pathlib import Path

import lock_envs
import pytest
import yaml
from workflow_runner import TWO_EXPERIMENTS, planned_jobs

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "workflow" / "scripts"
ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[normalise(name)] = version
    return pins


def env_pins(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(conda pins, pip pins) of one env file."""
    env = yaml.safe_load(path.read_text())
    conda, pip = {}, {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for line in dep["pip"]:
                name, version = line.split("==")
                pip[normalise(name)] = version
        else:
            name, version = dep.split("=", 1)
            conda[normalise(name)] = version
    return conda, pip


def imported_distributions(script: Path) -> set[str]:
    """Distributions a script needs: its imports and those of the mnist_cnn modules it uses."""
    modules, todo, seen = set(), [script], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                # `from mnist_cnn import rule` imports the module mnist_cnn.rule
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            for name in names:
                top = name.split(".")[0]
                if top != "mnist_cnn":
                    modules.add(top)
                    continue
                module = SCRIPTS / Path(*name.split("."))
                for candidate in (module / "__init__.py", module.with_suffix(".py")):
                    if candidate.exists():
                        todo.append(candidate)
    by_module = importlib.metadata.packages_distributions()
    return {
        normalise(by_module[m][0]) for m in modules if m not in sys.stdlib_module_names and m != "snakemake"
    }


@pytest.mark.parametrize("env_file", ENV_FILES, ids=[p.stem for p in ENV_FILES])
def test_env_pins_exact_versions_that_requirements_share(env_file):
    env = yaml.safe_load(env_file.read_text())
    assert env["channels"][0] == "conda-forge"
    conda, pip = env_pins(env_file)
    assert conda["python"] == "3.11.7" and "pip" in conda
    for name, version in {**conda, **pip}.items():
        assert re.fullmatch(r"\d+(\.\d+)*(\.post\d+)?", version), (
            f"{env_file.name}: {name} is not pinned exactly"
        )
    pinned = requirements()
    for name, version in pip.items():
        assert pinned.get(name) == version, (
            f"{env_file.name} pins {name}=={version}, requirements.txt {pinned.get(name)}"
        )


def test_requirements_pin_what_is_installed():
    for name, version in requirements().items():
        assert importlib.metadata.version(name) == version, name


@pytest.mark.parametrize("rule", sorted(lock_envs.rule_environments()))
def test_each_rule_env_holds_what_its_script_imports(rule):
    script, env_file = lock_envs.rule_environments()[rule]
    _, pip = env_pins(env_file)
    missing = imported_distributions(script) - set(pip)
    assert not missing, f"rule {rule}: {env_file.name} lacks {sorted(missing)}"


def test_every_rule_has_a_script_and_an_env():
    rules = lock_envs.rule_environments()
    # the rules of a sweep that applies its models to images: every rule of the workflow
    images = str(REPO / "resources" / "my_digits" / "images")
    assert set(rules) == set(planned_jobs({**TWO_EXPERIMENTS, "apply": {"images": images}}).values())
    for script, env_file in rules.values():
        assert script.exists() and env_file.exists()


def or_skip_without_index(function, *args):
    """function(*args); pip failing to reach a package index skips the test, except in CI."""
    try:
        return function(*args)
    except lock_envs.PipFailed as error:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no package index to resolve with: {str(error).splitlines()[-1]}")


def test_lock_envs_writes_one_file_per_env():
    assert sorted(f"{name}.yaml" for name in lock_envs.ENVS) == [path.name for path in ENV_FILES]


@pytest.mark.parametrize("env_file", ENV_FILES, ids=[p.stem for p in ENV_FILES])
def test_env_file_is_what_lock_envs_writes(env_file):
    expected = or_skip_without_index(lock_envs.render, env_file.stem)
    assert env_file.read_text() == expected, f"{env_file.name} is out of date: run python tools/lock_envs.py"


@pytest.mark.parametrize("env_file", ENV_FILES, ids=[p.stem for p in ENV_FILES])
def test_env_resolves_on_its_own_to_exactly_its_pins(env_file):
    """pip, given only the env's list and no constraints, installs those releases and nothing else."""
    _, pip = env_pins(env_file)
    resolved = or_skip_without_index(
        lock_envs.resolve, [f"{name}=={version}" for name, version in pip.items()]
    )
    assert {normalise(name): version for name, version in resolved.items()} == pip
