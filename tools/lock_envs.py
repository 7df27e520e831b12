"""Write envs/*.yaml, the rules' conda environments, from requirements.txt and pip's resolver.

    python tools/lock_envs.py            # write every envs/<name>.yaml
    python tools/lock_envs.py --check    # exit 1, naming them, if a written file would change

ENVS below says which packages each environment's rules import. pip resolves them
(``pip install --dry-run --ignore-installed --report``) with requirements.txt as constraints, and
the env file lists, in its ``pip:`` section, every package that pip would install, transitive
ones too, at the exact version of requirements.txt. A package that pip needs but
requirements.txt does not pin stops the script: pin it there first. So an environment built
next year is the one tested today. pip resolves for the machine it runs on (Linux, x86-64,
Python 3.11).
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REQUIREMENTS = REPO / "requirements.txt"
ENV_DIR = REPO / "envs"
CONDA = ["python=3.11.7", "pip=25.3"]
# env name: (what it is for, the packages its rules' scripts import)
ENVS = {
    "download": (
        "Rule download: HTTP with retries, checksum-verified downloads, progress.",
        "requests urllib3 pooch tqdm",
    ),
    "data": ("Rule check_data: parse and check the TSVs.", "numpy pandas"),
    "keras": (
        "Rules model_config, model_builder (Keras on its numpy backend, which needs jax), train,\n"
        "export_onnx (tf2onnx), predict and apply_model (onnxruntime, or Keras on TensorFlow or JAX),\n"
        "provenance (records their versions), inspect_model (Keras on its numpy backend, with\n"
        "matplotlib for the training curves and the first convolution layer's filters).",
        "tensorflow keras jax jaxlib h5py numpy pandas scikit-learn PyYAML matplotlib tqdm tf2onnx onnx onnxruntime",
    ),
    "evaluate": (
        "Rules evaluate, record_config and the report's figures: scores, plots, tables.",
        "numpy pandas scikit-learn matplotlib PyYAML",
    ),
    "compare": (
        "Rule compare: the experiments' scores side by side, as tables and a figure; with replicates,\n"
        "their confidence intervals and differences (SciPy) and the replicates' figure (seaborn); rule\n"
        "applied_agreement: where the experiments read your images alike.",
        "h5py numpy pandas matplotlib scipy seaborn",
    ),
    "images": (
        "Rules convert_images and applied_figure: your own images in MNIST's layout, and the figure of\n"
        "them beside their predictions.",
        "numpy pandas pillow scipy scikit-image matplotlib scikit-learn",
    ),
}


def rule_blocks() -> dict[str, tuple[Path, str]]:
    """rule name -> (its file in workflow/rules/, the text of its definition)."""
    found = {}
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"^rule ", smk.read_text(), flags=re.M)[1:]:
            found[block.split(":")[0]] = (smk, block)
    return found


def rule_environments() -> dict[str, tuple[Path, Path]]:
    """rule name -> (its script, its env file), as workflow/rules/*.smk declare them."""
    found = {}
    for name, (smk, block) in rule_blocks().items():
        conda = re.search(r'conda:\s+"([^"]+)"', block)
        script = re.search(r'script:\s+"([^"]+)"', block)
        found[name] = ((smk.parent / script[1]).resolve(), (smk.parent / conda[1]).resolve())
    return found


class LockError(Exception):
    """requirements.txt and an environment do not fit together."""


class PipFailed(LockError):
    """pip itself could not resolve (no package index reachable, or no such release)."""


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements() -> dict[str, tuple[str, str]]:
    """normalised name -> (name as requirements.txt spells it, version)."""
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[normalise(name)] = (name, version)
    return pins


def resolve(packages: list[str], constraints: Path | None = None) -> dict[str, str]:
    """What ``pip install PACKAGES`` would install into an empty environment: {name: version}."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        command = [
            sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
            "--disable-pip-version-check", "--report", str(report),
            *(["--constraint", str(constraints)] if constraints else []), *packages,
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise PipFailed(f"pip could not resolve {' '.join(packages)}:\n{result.stderr.strip()}")
        installs = json.loads(report.read_text())["install"]
    return {item["metadata"]["name"]: item["metadata"]["version"] for item in installs}


def pinned_packages(name: str) -> list[str]:
    """The env's pip section: its own packages first, then what they need, each name==version."""
    pins = requirements()
    direct = ENVS[name][1].split()
    missing = [package for package in direct if normalise(package) not in pins]
    if missing:
        raise LockError(f"envs/{name}.yaml: requirements.txt does not pin {', '.join(missing)}")
    resolved = resolve([f"{package}=={pins[normalise(package)][1]}" for package in direct], REQUIREMENTS)
    for package, version in resolved.items():
        if pins.get(normalise(package), (package, None))[1] != version:
            raise LockError(
                f"envs/{name}.yaml needs {package}=={version}, which requirements.txt does not pin: add it there"
            )
    direct_keys = [normalise(package) for package in direct]
    needed = sorted((key for key in map(normalise, resolved) if key not in direct_keys), key=str.lower)
    lines = [f"{pins[key][0]}=={pins[key][1]}" for key in direct_keys]
    return lines + ["# what those depend on"] + [f"{pins[key][0]}=={pins[key][1]}" for key in needed]


def render(name: str) -> str:
    """The whole text of envs/<name>.yaml."""
    purpose = "".join(f"# {line}\n" for line in ENVS[name][0].splitlines())
    pip = "".join(
        f"      {line}\n" if line.startswith("#") else f"      - {line}\n" for line in pinned_packages(name)
    )
    return (
        f"{purpose}# Written by tools/lock_envs.py from requirements.txt: edit those two, then run it.\n"
        "channels:\n  - conda-forge\n  - nodefaults\ndependencies:\n"
        + "".join(f"  - {dep}\n" for dep in CONDA)
        + "  # every package pip installs, at the versions the tests run on (requirements.txt)\n"
        + "  - pip:\n"
        + pip
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file would change")
    args = parser.parse_args()
    stale = []
    for name in ENVS:
        path = ENV_DIR / f"{name}.yaml"
        try:
            text = render(name)
        except LockError as error:
            sys.exit(str(error))
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path.name)
        if not args.check:
            path.write_text(text)
    if args.check and stale:
        sys.exit(f"out of date: {', '.join(stale)} (run python tools/lock_envs.py)")
    print(f"written: {', '.join(stale)}" if stale else "envs/*.yaml are up to date")


if __name__ == "__main__":
    main()
