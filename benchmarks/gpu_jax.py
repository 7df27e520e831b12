"""``backend: jax`` on a GPU, measured in one go: the default workflow twice on all of MNIST, its
results compared byte for byte, then config/seeds.yaml's five replicates; the times, the test
accuracies and the device, written to a JSON file.

Made for a GPU machine that has JAX's CUDA build and Python 3.12 but neither TensorFlow, nor the
workflow's other packages, nor a way to download them (the one this project borrows has an
NVIDIA H200). What it needs is carried there in one folder, .gpu/, which ``prepare`` fills here:

    python benchmarks/gpu_jax.py prepare                                       # here
    python3 benchmarks/gpu_jax.py run --wheels .gpu/wheels --data .gpu/mnist   # there

``prepare`` downloads the wheels of benchmarks/gpu_wheels.txt for Python 3.12 on Linux x86-64
(Snakemake, Keras and what they need that such a machine lacks) into .gpu/wheels, and writes
the four Zenodo TSVs of all of MNIST, gzipped, into .gpu/mnist, from the MNIST IDX files in
``--idx`` (default ../shared/data/mnist).

``run`` installs the wheels of ``--wheels`` (pip --no-index --no-deps) into a folder of its own,
first on the PYTHONPATH of every process it starts; then runs tools/check_reproducibility.py
with the default config, ``backend: jax``, ``onnx: false`` (rule export_onnx converts with
TensorFlow) and ``data.dir`` ``--data``; then ``snakemake --configfile config/seeds.yaml`` with
the same. It rewrites ``--output`` after each step, so that a run cut short keeps what it
measured, and exits 1 if a step failed. ``--epochs`` and ``--replicates`` (0: none) make it small
enough for a CPU: tests/test_jax.py runs it on the sample in resources/.
"""

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))

from mnist_cnn import ZENODO_FILES  # noqa: E402
from mnist_cnn.mnist_idx import write_zenodo_tsvs  # noqa: E402

WHEEL_LIST = REPO / "benchmarks" / "gpu_wheels.txt"
CARRIED = REPO / ".gpu"
SHARED_IDX = REPO.parent / "shared" / "data" / "mnist"
# The wheels' platform: pip takes the manylinux tags it is given literally
PLATFORMS = [f"manylinux_2_{glibc}_x86_64" for glibc in (28, 27, 24, 17, 12, 5)] + [
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
]
# packages published without wheels, built here (pure Python)
SDIST_ONLY = ("connection_pool",)
SOFTWARE = ("snakemake", "keras", "jax", "jaxlib", "numpy", "pandas", "scikit-learn", "h5py")
PROBE = """
import importlib.metadata, json, platform, sys
import jax
device = jax.devices()[0]
versions = {}
for name in sys.argv[1:]:
    try:
        versions[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        versions[name] = None
print(json.dumps({
    "device": {"platform": device.platform, "name": device.device_kind, "count": jax.device_count(),
               "compute_capability": getattr(device, "compute_capability", None)},
    "software": {"python": platform.python_version(), **versions},
}))
"""


def pins() -> list[str]:
    """The ``name==version`` lines of benchmarks/gpu_wheels.txt."""
    lines = (line.split("#")[0].strip() for line in WHEEL_LIST.read_text().splitlines())
    return [line for line in lines if line]


def prepare(args: argparse.Namespace) -> None:
    """.gpu/wheels and .gpu/mnist, here, for ``run`` there."""
    wheels, mnist = args.out / "wheels", args.out / "mnist"
    wheels.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip"]
    built = [pin for pin in pins() if pin.split("==")[0] in SDIST_ONLY]
    downloaded = [pin for pin in pins() if pin not in built]
    subprocess.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(wheels), *built], check=True)
    platforms = [option for platform in PLATFORMS for option in ("--platform", platform)]
    subprocess.run(
        [*pip, "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.12",
         "--implementation", "cp", *platforms, "--dest", str(wheels), *downloaded],
        check=True,
    )  # fmt: skip
    if not all((mnist / f"{name}.gz").exists() for name in ZENODO_FILES):
        write_zenodo_tsvs(args.idx, mnist, {"train": None, "test": None}, ".tsv.gz")
    size = sum(path.stat().st_size for path in args.out.rglob("*") if path.is_file())
    print(f"{args.out}: {len(list(wheels.glob('*.whl')))} wheels and all of MNIST, {size / 2**20:.1f} MiB")


def install(wheels: Path, site: Path, env: dict) -> None:
    """The wheels of ``wheels`` into ``site``, which ``env``'s PYTHONPATH then puts first."""
    files = sorted(str(path) for path in wheels.glob("*.whl"))
    if not files:
        sys.exit(f"--wheels {wheels}: no .whl files (`python benchmarks/gpu_jax.py prepare` makes them)")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--no-compile",
         "--no-cache-dir", "--upgrade", "--target", str(site), *files],
        check=True,
    )  # fmt: skip
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))


def nvidia_smi() -> str | None:
    """The GPU as nvidia-smi names it, with its driver and memory; None without nvidia-smi."""
    if shutil.which("nvidia-smi") is None:
        return None
    query = ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]
    answer = subprocess.run(query, capture_output=True, text=True)
    return answer.stdout.strip() or answer.stderr.strip()


def run_summary(workdir: Path, prefix: str = "") -> dict:
    """One run's test accuracy, the train job's time (Snakemake's benchmark) and each epoch's
    (from train.log; the first includes XLA's compilation), and the device train_machine.yaml names."""
    summary = {}
    report = workdir / "results" / prefix / "classification_report.tsv"
    if report.exists():
        with open(report) as table:
            rows = {row["class"]: row for row in csv.DictReader(table, delimiter="\t")}
        summary["test_accuracy"] = float(rows["accuracy"]["f1-score"])
    benchmark = workdir / "benchmarks" / prefix / "train.tsv"
    if benchmark.exists():
        with open(benchmark) as table:
            summary["train_job_s"] = float(next(csv.DictReader(table, delimiter="\t"))["s"])
    log = workdir / "logs" / prefix / "train.log"
    if log.exists():
        summary["epoch_s"] = [
            float(s) for s in re.findall(r" INFO epoch \d+/\d+: .*; ([\d.]+) s,", log.read_text())
        ]
    machine = workdir / "results" / prefix / "model" / "train_machine.yaml"
    if machine.exists():
        record = yaml.safe_load(machine.read_text())
        summary["device"], summary["backend"] = record["device"], record["backend"]
    return summary


def tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def run(args: argparse.Namespace) -> int:
    workdir, output = args.workdir.resolve(), args.output.resolve()
    if workdir.exists() and any(workdir.iterdir()):
        sys.exit(f"--workdir {workdir} is not empty: remove it or pick another")
    workdir.mkdir(parents=True, exist_ok=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if args.wheels:
        install(args.wheels.resolve(), workdir / "site", env)
    result = {
        "what": "config backend: jax, onnx: false, the default workflow on --data (benchmarks/gpu_jax.py)",
        "command": " ".join(sys.argv),
        "data": str(args.data),
        "cores": args.cores,
        "epochs": args.epochs or "config.yaml's",
        "steps": args.steps,
        "nvidia_smi": nvidia_smi(),
    }

    def write():
        output.write_text(json.dumps(result, indent=2) + "\n")

    probe = subprocess.run([sys.executable, "-c", PROBE, *SOFTWARE], env=env, capture_output=True, text=True)
    if probe.returncode != 0:
        result["error"] = f"JAX did not start: {probe.stderr[-2000:]}"
        write()
        return 1
    result.update(json.loads(probe.stdout))
    write()
    print(
        f"{result['device']['name']} ({result['device']['platform']}), JAX {result['software']['jax']}",
        flush=True,
    )

    config = {"backend": "jax", "onnx": False, "data": {"dir": str(args.data.resolve())}}
    if args.epochs:
        config["fit"] = {"epochs": args.epochs}
    overlay = workdir / "gpu_jax.yaml"
    overlay.write_text(yaml.safe_dump(config))

    if "twice" in args.steps and run_twice(args, workdir, overlay, env, result, write):
        return 1
    if "seeds" in args.steps and args.replicates != 0:
        return run_seeds(args, workdir, overlay, env, result, write)
    return 0


def run_twice(args, workdir: Path, overlay: Path, env: dict, result: dict, write) -> bool:
    """The default workflow twice, compared byte for byte, into ``result["twice"]``; True if a run failed."""
    checked = workdir / "twice"
    check = subprocess.run(
        [sys.executable, str(REPO / "tools" / "check_reproducibility.py"), "--configfile", str(overlay),
         "--cores", str(args.cores), "--workdir", str(checked)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    (workdir / "twice.out").write_text(check.stdout + check.stderr)
    walls = [float(s) for s in re.findall(r"^run \d: .* \((\d+) s\)$", check.stdout, flags=re.M)]
    lines = check.stdout.splitlines()
    result["twice"] = {
        "identical": check.returncode == 0,
        "check_status": check.returncode,
        "verdict": lines[-1] if lines else check.stderr[-2000:],
        "differing": [line.split(None, 1)[1] for line in lines if line.startswith("DIFFERS")],
        "runs": [
            {"wall_s": wall, **run_summary(checked / f"run{number}")} for number, wall in enumerate(walls, 1)
        ],
    }
    write()
    print(f"twice: {result['twice']['verdict']}", flush=True)
    if check.returncode == 2:
        result["twice"]["output_tail"] = tail(workdir / "twice.out")
        write()
    return check.returncode == 2


def run_seeds(args, workdir: Path, overlay: Path, env: dict, result: dict, write) -> int:
    """config/seeds.yaml's replicates into ``result["seeds"]``; 1 if the run failed, else 0."""
    seeds = workdir / "seeds"
    configfiles = [REPO / "config.yaml", REPO / "config" / "seeds.yaml", overlay]
    if args.replicates:
        (workdir / "replicates.yaml").write_text(yaml.safe_dump({"replicates": args.replicates}))
        configfiles.append(workdir / "replicates.yaml")
    replicates = args.replicates or yaml.safe_load((REPO / "config" / "seeds.yaml").read_text())["replicates"]
    started = time.perf_counter()
    with open(workdir / "seeds.out", "w") as out:
        status = subprocess.run(
            [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(seeds),
             "--cores", str(args.cores), "--configfile", *map(str, configfiles)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        ).returncode  # fmt: skip
    result["seeds"] = {
        "status": status,
        "wall_s": round(time.perf_counter() - started, 1),
        "replicates": [
            {"seed": seed, **run_summary(seeds, f"replicates/replicate_{seed + 1}")}
            for seed in range(replicates)
        ],
    }
    if status != 0:
        result["seeds"]["output_tail"] = tail(workdir / "seeds.out")
    write()
    accuracies = [replicate.get("test_accuracy") for replicate in result["seeds"]["replicates"]]
    print(f"seeds: test accuracies {accuracies}, {result['seeds']['wall_s']} s", flush=True)
    return 1 if status else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    here = commands.add_parser("prepare", help="download the wheels and write the data to carry")
    here.add_argument("--out", type=Path, default=CARRIED, help=f"where (default: {CARRIED})")
    here.add_argument("--idx", type=Path, default=SHARED_IDX, help="the four MNIST IDX files (*-ubyte.gz)")
    there = commands.add_parser("run", help="measure: twice, compared, then the replicates")
    there.add_argument("--data", type=Path, required=True, help="the four Zenodo TSVs (plain or .tsv.gz)")
    there.add_argument("--wheels", type=Path, help="wheels to install first (default: none)")
    there.add_argument("--workdir", type=Path, default=Path("/tmp/mnist-cnn-gpu-jax"), help="a new folder")
    there.add_argument(
        "--output", type=Path, default=REPO / "benchmarks" / "results" / "gpu_jax.json", help="the JSON file"
    )
    there.add_argument("--cores", type=int, default=2, help="snakemake --cores (default: 2, as on the CPU)")
    there.add_argument("--epochs", type=int, help="fit.epochs (default: config.yaml's)")
    there.add_argument("--replicates", type=int, help="replicates (default: config/seeds.yaml's; 0: none)")
    there.add_argument(
        "--steps", nargs="+", choices=["twice", "seeds"], default=["twice", "seeds"], help="(default: both)"
    )
    args = parser.parse_args(argv)
    if args.command == "prepare":
        prepare(args)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
