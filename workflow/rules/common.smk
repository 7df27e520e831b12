# Everything that is not a rule: config validation, input functions, constants.
import math
import sys
from pathlib import Path

from jsonschema import ValidationError
from snakemake import __version__ as SNAKEMAKE_VERSION
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))
from mnist_cnn import ZENODO_FILES
from mnist_cnn.provenance import git_version, recorded_config


def validate_config():
    """Check config against the schema (filling in defaults); one line per bad value."""
    try:
        validate(config, schema="../schemas/config.schema.yaml")
    except WorkflowError as error:
        bad = error.__cause__ or error.__context__
        if not isinstance(bad, ValidationError):
            raise
        where = ".".join(map(str, bad.absolute_path)) or "the top level"
        expected = bad.schema.get("description", "")
        raise WorkflowError(f"Invalid config at {where}: {bad.message}. {expected}".strip()) from None


validate_config()

N_FEATURES = math.prod(config["model"]["input_shape"])
NUM_CLASSES = config["data"]["num_classes"]
DATA_DIR = config["data"]["dir"]
WORKFLOW_VERSION = git_version(workflow.basedir)


wildcard_constraints:
    split="train|test",


def data_file(name):
    """A TSV from data.dir (plain or gzipped) if set, else the downloaded copy."""
    if not DATA_DIR:
        return f"results/data/{name}"
    for candidate in (Path(DATA_DIR) / name, Path(DATA_DIR) / f"{name}.gz"):
        if candidate.exists():
            return str(candidate)
    raise WorkflowError(f"data.dir: {DATA_DIR} holds neither {name} nor {name}.gz")


def data_files(wildcards):
    """The four input TSVs, wherever they come from."""
    return [data_file(name) for name in ZENODO_FILES]


def known_md5(wildcards, input):
    """Checksums from data.md5 for this split's files; downloads were checked already."""
    return {
        Path(path).name: config["data"]["md5"][Path(path).name]
        for path in input
        if DATA_DIR and Path(path).name in config["data"]["md5"]
    }


def model_json_input(wildcards):
    return config["model"]["config_json"] or []


def final_outputs():
    return [
        "results/model/train_metrics.tsv",
        "results/predictions.tsv",
        "results/confusion_matrix.png",
        "results/confusion_matrix.tsv",
        "results/classification_report.tsv",
        "results/provenance.yaml",
    ]
