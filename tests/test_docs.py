"""Documentation that is written from the code cannot drift from it."""

import json
import os
import re
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

import config_docs
import pytest
import workflow_diagram
import yaml
from workflow_runner import REPO, checkout_copy


def test_config_readme_is_what_config_docs_writes_from_the_schema():
    written = (REPO / "config" / "README.md").read_text()
    assert written == config_docs.render(), "config/README.md is out of date: run python tools/config_docs.py"


def test_config_readme_names_every_key_of_config_yaml():
    def keys(mapping, prefix=""):
        for key, value in mapping.items():
            yield f"{prefix}{key}"
            if isinstance(value, dict) and key not in ("args", "md5", "experiments"):
                yield from keys(value, f"{prefix}{key}.")

    written = (REPO / "config" / "README.md").read_text()
    for key in keys(yaml.safe_load((REPO / "config.yaml").read_text())):
        assert f"| `{key}` |" in written, key


def test_catalog_file_says_conda_and_report():
    usage = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())["usage"]
    assert usage["software-stack-deployment"]["conda"] is True and usage["report"] is True


README = (REPO / "README.md").read_text()


def test_readme_is_a_front_door_of_at_most_200_lines():
    assert len(README.splitlines()) <= 200


def test_readme_picture_is_the_workflow_s_rule_graph():
    assert workflow_diagram.readme_graph(README) == workflow_diagram.rule_graph(), (
        "README.md's picture is stale: run python tools/workflow_diagram.py"
    )


def test_relative_links_of_readme_and_config_readme_lead_to_files():
    for document in (REPO / "README.md", REPO / "config" / "README.md"):
        for target in re.findall(r"\]\((?!https?://)([^)#]+)", document.read_text()):
            assert (document.parent / target).exists(), f"{document.name} links to {target}, which is missing"


# benchmarks/cpu_census/sitecustomize.py's name for the processes that pytest-xdist's workers run in
XDIST_WORKERS = "python -c (pytest-xdist workers, pip's helpers)"


def quoted_figures() -> dict[str, list[str]]:
    """Each measured figure that a document quotes, as it must be written there, from the file
    that the script measuring it wrote."""
    results = REPO / "benchmarks" / "results"
    peer = json.loads((results / "peer_vs_workflow.json").read_text())
    default_run = statistics.median(r["wall_s"] for r in peer["default_run"])
    ratio = default_run / statistics.median(r["wall_s"] for r in peer["peer"])
    same_job = statistics.median(r["wall_s"] for r in peer["same_job"])
    seeds = json.loads((results / "seeds_full_mnist.json").read_text())["tables"]
    [summary] = seeds["comparison"]
    accuracies = {row["seed"]: row["test_accuracy"] for row in seeds["replicates"]}
    delay = json.loads((results / "slurm_conf_delay.json").read_text())["wall_seconds_median"]
    suite = json.loads((results / "suite_time.json").read_text())
    suite_figures = [f"{suite['tests_run']} tests", f"{suite['wall_minutes']:.1f} minutes"]
    programs = suite["cpu_seconds_by_python_program"]
    return {
        "README.md": [
            f"**{default_run:.1f} s**",
            f"{ratio:.2f} times",
            f"**{accuracies[0]:.4f}**",
            f"**{summary['test_accuracy_mean']:.4f}, 95% confidence interval "
            f"{summary['test_accuracy_ci95_low']:.4f} to {summary['test_accuracy_ci95_high']:.4f}**",
            f"median {statistics.median(accuracies.values()):.4f}",
            *suite_figures,
        ],
        "docs/performance.md": [
            f"median is {ratio:.2f} times the peer's",
            f"the same job's {same_job / statistics.median(r['wall_s'] for r in peer['peer']):.2f} times",
        ],
        "docs/development.md": [
            *suite_figures,
            f"{suite['cpu_seconds_of_waited_processes']:.0f} s of CPU",
            f"busy for {suite['cpu_seconds_of_the_machine']:.0f} CPU-seconds",
            f"{programs['snakemake']['processes']} `snakemake` commands took {programs['snakemake']['cpu_seconds']:.0f} s",
            f"the tests themselves run, {programs[XDIST_WORKERS]['cpu_seconds']:.0f} s",
        ],
        "docs/sweeps.md": [
            f"from {summary['test_accuracy_min']:.4f} to {summary['test_accuracy_max']:.4f} over seeds 0 to 4",
            f"| single run | 5 | {summary['test_accuracy_mean']:.4f} | {summary['test_accuracy_sd']:.4g} | "
            f"{summary['test_accuracy_min']:.4f} | {summary['test_accuracy_max']:.4f} | "
            f"{summary['test_accuracy_ci95_low']:.4f} to {summary['test_accuracy_ci95_high']:.4f} |",
            "seeds 0 to 4: "
            + ", ".join(f"{accuracies[seed]:.4f}" for seed in range(5))
            + f" (median {statistics.median(accuracies.values()):.4f})",
        ],
        "docs/own-digits.md": own_digits_figures(),
        "docs/clusters.md": [
            f"{delay['unreachable controller']:.1f} s with an unreachable controller",
            f"{delay['SLURM_CONF=/dev/null']:.1f} s with `SLURM_CONF=/dev/null`",
            f"{delay['no SLURM tools']:.1f} s without SLURM's tools",
        ],
    }


def own_digits_figures() -> list[str]:
    """The page's table of the sample model's predictions, and its accuracy, from
    benchmarks/my_digits_run.py's file; the conversion's figures, from the table that
    benchmarks/handwriting_spread.py wrote (its seed 0 is the test's model)."""
    run = json.loads((REPO / "benchmarks" / "results" / "my_digits.json").read_text())
    rows = [f"| {p['image']} | {p['predicted']} | {p['probability']:.4f} |" for p in run["predictions"]]
    read = sum(str(p["predicted"]) == p["image"][0] for p in run["predictions"])  # 7b_drawing.png is a 7
    spread = (REPO / "benchmarks" / "results" / "handwriting_spread.md").read_text()
    seed_0 = {
        (layout, kind): (int(rows), int(images))
        for layout, kind, rows, images in re.findall(
            r"^\| 0 \| (\w+) \| (\w+) \| (\d+) \| (\d+) \|", spread, re.M
        )
    }
    names = {"png": "PNG", "jpeg": "JPEG, quality 75", "transparent_png": "transparent PNG"}
    difference = dict(
        re.findall(
            r"(min|max|mean|standard deviation) (-?[\d.]+)", spread.split("Difference")[1].split("\n")[0]
        )
    )
    changed = dict(re.findall(r"(min|max) (\d+)", spread.split("Predictions changed")[1].split("\n")[0]))
    return [
        f"(as TSV rows: {seed_0['square', 'png'][0]})",
        *(
            f"| {name} | {seed_0['square', kind][1]} | {seed_0['off_centre', kind][1]} |"
            for kind, name in names.items()
        ),
        f"changed what it reads for {changed['min']} to {changed['max']} of the 300 digits",
        f"were {int(difference['min']):+d} to {int(difference['max']):+d} (mean {difference['mean']}, "
        f"standard deviation {difference['standard deviation']})".replace("+-", "-"),
        "| image | Predicted | probability |\n|---|---:|---:|\n" + "\n".join(rows),
        f"about {run['test_accuracy']:.3f}",
        f"It reads {read} of the {len(rows)}",
    ]


@pytest.mark.parametrize(
    "document",
    [
        "README.md",
        "docs/performance.md",
        "docs/clusters.md",
        "docs/development.md",
        "docs/sweeps.md",
        "docs/own-digits.md",
    ],
)
def test_quoted_figures_are_those_of_their_results_file(document):
    text = " ".join((REPO / document).read_text().split())  # wherever its lines break
    for figure in quoted_figures()[document]:
        assert " ".join(figure.split()) in text, (
            f"{document} does not quote {figure} as its results file says"
        )


def commands_of(text: str) -> list[list[str]]:
    """The words of each command of a shell script or block: one per line or part of a ``&&``
    chain, a trailing ``# comment`` left out."""
    parts = (part for line in text.splitlines() for part in line.split("&&"))
    return [words for words in map(lambda part: shlex.split(part, comments=True), parts) if words]


def documented_commands(snakemake: bool = True) -> list[tuple[str, str]]:
    """(documents, command) of every ``snakemake`` command (``snakemake=False``: every other
    command) in a bash block of README.md and docs/, as written, each command once."""
    found = {}
    for document in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for block in re.findall(r"^ *```bash\n(.*?)^ *```", document.read_text(), flags=re.M | re.S):
            for words in commands_of(block):
                if (Path(words[0]).name == "snakemake") == snakemake:  # each page once, in order
                    found.setdefault(shlex.join(words), {})[str(document.relative_to(REPO))] = None
    return [(", ".join(documents), command) for command, documents in found.items()]


# What a dry run cannot show, and the tests that run it instead.
NOT_DRY_RUN = {
    "--report": "needs a finished run (tests/test_workflow.py and others make reports after their runs)",
    "--conda-create-envs-only": "builds every environment (tests/test_conda.py builds them with its conda stand-in)",
}


@pytest.mark.parametrize("document, command", documented_commands())
def test_each_documented_snakemake_command_runs_as_written(document, command, tmp_path):
    """Targets before --configfile, whose list takes every word after it; then a dry run from a
    copy of the repository, as a user runs it from a clone (with the conda stand-in of
    tests/test_conda.py for --sdm conda). The commands that run the workflow for real are run by
    the tests of what they do (test_workflow.py: the offline sample; test_slurm.py: the cluster
    profile; test_conda.py: --sdm conda)."""
    words = shlex.split(command)
    if "--configfile" in words:
        after = words[words.index("--configfile") + 1 :]
        files = after[: next((i for i, word in enumerate(after) if word.startswith("-")), len(after))]
        assert all(word.endswith((".yaml", ".yml", ".json")) for word in files), (
            f"{document}: `{command}` puts a target among the config files"
        )
    for option, why in NOT_DRY_RUN.items():
        if option in words:
            pytest.skip(f"{document}: `{command}` {why}")
    checkout = checkout_copy(tmp_path / "mnist-cnn")
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(REPO / "tests" / "conda_standin" / "bin"), os.environ["PATH"]]),
    }
    linting = "--lint" in words  # not a run: it runs as written
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", *([] if linting else ["--dry-run"]), *words[1:]],
        cwd=checkout, capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert result.returncode == 0, f"{document}: `{command}`\n{result.stdout}{result.stderr}"
    assert ("in a good condition" if linting else "This was a dry-run") in result.stdout + result.stderr


# .ci/run's commands as the pages write them: without the flags that only make them quieter
QUIET = {"-q", "-qq", "--quiet"}
CI_COMMANDS = [
    [word for word in words if word not in QUIET] for words in commands_of((REPO / ".ci" / "run").read_text())
]
# The scripts of the other commands, and the tests that run them
SCRIPT_TESTS = {
    "tools/check_reproducibility.py": "tests/test_reproducibility.py",
    "tools/lock_envs.py": "tests/test_envs.py",
    "tools/config_docs.py": "tests/test_docs.py",
    "tools/workflow_diagram.py": "tests/test_docs.py",
    "benchmarks/gpu_jax.py": "tests/test_jax.py",
    "benchmarks/peer_vs_workflow.py": "tests/test_benchmark_scripts.py",  # up to its first check
}
# Commands that need what the tests cannot have, and what the tests run instead
NOT_HERE = {
    "snakedeploy": "fetches the workflow from GitHub; tests/test_module.py runs the host Snakefile it "
    "writes, from a local git repository",
    "pip": "tests/test_conda.py installs the same packages with the same constraints (with uv) into "
    "the Snakemake-only environment its --sdm conda runs start from",
}


@pytest.mark.parametrize("document, command", documented_commands(snakemake=False))
def test_each_documented_command_is_run_by_ci_or_a_test(document, command):
    """Each command of the pages that is not snakemake (README.md's install and test commands,
    development.md's checks, the scripts of tools/ and benchmarks/): a command of .ci/run as
    written; or a script whose test runs it, and which takes every option the page gives it
    (``--help`` lists them, of its subcommand if one is given); or one that needs what the tests
    cannot have, said so."""
    words = shlex.split(command)
    if [word for word in words if word not in QUIET] in CI_COMMANDS:
        return
    script = next((word for word in words if word.endswith(".py")), None)
    if script is None:
        assert Path(words[0]).name in NOT_HERE, (
            f"{document}: `{command}` is run neither by .ci/run nor by a test"
        )
        pytest.skip(f"{document}: `{command}` {NOT_HERE[Path(words[0]).name]}")
    assert script in SCRIPT_TESTS, f"{document}: `{command}`: no test runs {script}"
    assert Path(script).name in (REPO / SCRIPT_TESTS[script]).read_text(), (
        f"{SCRIPT_TESTS[script]} does not run {script}"
    )
    after = words[words.index(script) + 1 :]
    subcommand = after[: next((i for i, word in enumerate(after) if word.startswith("-")), len(after))]
    shown = subprocess.run(
        [sys.executable, script, *subcommand, "--help"], cwd=REPO, capture_output=True, text=True
    )
    assert shown.returncode == 0, f"{document}: `{command}`\n{shown.stdout}{shown.stderr}"
    options = {word.split("=")[0] for word in after if word.startswith("--")}
    unknown = [option for option in sorted(options) if not re.search(rf"{re.escape(option)}\b", shown.stdout)]
    assert unknown == [], f"{document}: `{command}`: {script} has no option {', '.join(unknown)}"
