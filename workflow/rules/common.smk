# Everything that is not a rule: config validation, input functions, constants.
import math
import re
import sys
from pathlib import Path

from jsonschema import ValidationError
from snakemake import __version__ as SNAKEMAKE_VERSION
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

# This repository's root: workflow.basedir is the host's when another workflow loads this one as a
# module, while current_basedir is always this file's folder.
REPO = Path(workflow.current_basedir).parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))
from mnist_cnn import IMAGE_FORMATS, ZENODO_FILES, image_files
from mnist_cnn.provenance import git_version, recorded_config
from mnist_cnn.experiments import deep_merge, experiment_name, experiment_prefix


def validate_config(values, where=""):
    """Check values against the schema (filling in defaults); one line per bad value.

    where: the key the values sit under in the config (experiments.<name>), for the message.
    """
    try:
        validate(values, schema="../schemas/config.schema.yaml")
    except WorkflowError as error:
        bad = error.__cause__ or error.__context__
        if not isinstance(bad, ValidationError):
            raise
        where = ".".join(map(str, [*filter(None, [where]), *bad.absolute_path])) or "the top level"
        expected = bad.schema.get("description", "")
        raise WorkflowError(f"Invalid config at {where}: {bad.message}. {expected}".strip()) from None


def experiment_configs():
    """Each experiment's whole config: its overrides merged over the rest of the config, checked."""
    base = {key: value for key, value in config.items() if key != "experiments"}
    merged = {}
    for name, overrides in config["experiments"].items():
        merged[name] = deep_merge(base, overrides or {})
        validate_config(merged[name], where=f"experiments.{name}")
    return merged


validate_config(config)
EXPERIMENTS = experiment_configs()

N_FEATURES = math.prod(config["model"]["input_shape"])
NUM_CLASSES = config["data"]["num_classes"]
DATA_DIR = config["data"]["dir"]
WORKFLOW_VERSION = git_version(REPO)
# The report's categories, numbered so that it lists them in the tutorial's order.
CONFIGURATION, DATA, MODEL, TRAINING, EVALUATION = (
    "1. Configuration",
    "2. Data",
    "3. Model",
    "4. Training",
    "5. Evaluation",
)


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


# Experiments (config key experiments, see config/experiments.yaml). The same rules serve the
# single run and every experiment. Making a rule per experiment takes three mechanical steps.
#   1. In its output, log and benchmark, and in inputs made per experiment, put {prefix} right
#      after results/, logs/ and benchmarks/: "results/{prefix}predictions.tsv". {prefix} is ""
#      for the single run (paths as before) and experiments/<name>/ for an experiment.
#      Inputs of the shared data (results/data/...) keep plain paths: the data is made once.
#   2. In params, read model and training settings with setting("fit", "batch_size") instead of
#      config["fit"]["batch_size"]: that is the config of the run {prefix} names. An input
#      function calls run_config(wildcards) instead of reading config.
#   3. Add its outputs meant for people, below results/, to RUN_OUTPUTS: rule all then asks for
#      them for the single run or for every experiment.
# Keys shared by all runs (zenodo, data, threads) stay config[...] (the schema keeps them out
# of experiments).


# "" or a declared experiment's prefix. Never an empty pattern: Snakemake ignores that and
# falls back to ".+", which cannot match the single run's "".
wildcard_constraints:
    prefix="(?:" + "|".join(re.escape(experiment_prefix(name)) for name in EXPERIMENTS) + ")?",


def run_config(wildcards):
    """The config of the single run ({prefix} empty) or of the experiment {prefix} names."""
    name = experiment_name(wildcards.prefix)
    return EXPERIMENTS[name] if name else config


def setting(*keys):
    """A params function: run_config(wildcards)[keys[0]][keys[1]]..."""

    def lookup(wildcards):
        value = run_config(wildcards)
        for key in keys:
            value = value[key]
        return value

    return lookup


def experiment_files(pattern):
    """pattern, such as "results/{prefix}model/history.tsv", for each experiment in order."""
    return [pattern.format(prefix=experiment_prefix(name)) for name in EXPERIMENTS]


def model_json_input(wildcards):
    return run_config(wildcards)["model"]["config_json"] or []


# Below results/{prefix}: what rule all asks for, for each run.
RUN_OUTPUTS = [
    "model/train_metrics.tsv",
    "predictions.tsv",
    "confusion_matrix.png",
    "confusion_matrix.tsv",
    "classification_report.tsv",
    "provenance.yaml",
    # the report's figures and tables (workflow/rules/report.smk, evaluate.smk)
    "config.yaml",
    "config.html",
    "model/summary.html",
    "model/training_curves.png",
    "model/first_conv_filters.png",
    "model/first_conv_feature_maps.png",
    "confusion_matrix.svg",
    "confusion_matrix_normalised.png",
    "confusion_matrix.html",
    "classification_report.html",
    "class_scores.png",
    "misclassified.png",
    "roc_curves.png",
    "precision_recall_curves.png",
    "auc.html",
]
# Made once from the shared data, for all runs.
SHARED_OUTPUTS = ["results/data/training_digits.png"]


def validation_name(wildcards):
    """What history.tsv's val_* columns of the run were measured on."""
    return "validation split" if run_config(wildcards)["fit"]["validation_split"] else "holdout"


def report_labels(result):
    """Labels of a result in the report: what it is, and with experiments declared, whose it is."""
    if not EXPERIMENTS:
        return {"result": result}
    return lambda wildcards: {
        "result": result,
        "experiment": experiment_name(wildcards.prefix) or "single run",
    }


def final_outputs():
    """The single run's outputs; with experiments declared, each experiment's and the comparison."""
    if not EXPERIMENTS:
        return [*(f"results/{path}" for path in RUN_OUTPUTS), *SHARED_OUTPUTS]
    return [
        *SHARED_OUTPUTS,
        *(f"results/{prefix}{path}" for prefix in experiment_files("{prefix}") for path in RUN_OUTPUTS),
        "results/experiments/comparison.tsv",
        "results/experiments/comparison.png",
    ]


# Apply (config key apply): a trained model applied to your own images and tables. Paths are
# checked here, before anything runs; the files' contents by the apply jobs.
APPLIED = "6. Your own digits"  # the report's category, after Evaluation


def images_to_apply():
    """The image files of apply.images, by name; none when it is empty."""
    folder = config["apply"]["images"]
    if not folder:
        return []
    if not Path(folder).is_dir():
        raise WorkflowError(f"apply.images: {folder} is not a folder: expected a folder of digit images")
    files = image_files(folder)
    if not files:
        raise WorkflowError(
            f"apply.images: the folder {folder} holds no files: expected digit images ({IMAGE_FORMATS})"
        )
    return [str(path) for path in files]


def tables_to_apply():
    """The tables of apply.tables by name: <name>.tsv (or .tsv.gz) is <name>."""
    tables = {}
    for position, table in enumerate(config["apply"]["tables"]):
        if not Path(table).is_file():
            raise WorkflowError(
                f"apply.tables[{position}]: no such file: {table}: expected a TSV laid out like X_test.tsv"
            )
        name = Path(table).name.removesuffix(".gz").removesuffix(".tsv")
        if name in tables:
            raise WorkflowError(
                f"apply.tables[{position}]: {table} has the name {name} of {tables[name]}: "
                "expected tables of different file names (results/applied/<name>.predictions.tsv)"
            )
        tables[name] = table
    return tables


def given_model():
    model = config["apply"]["model"]
    if model and not Path(model).is_file():
        raise WorkflowError(
            f"apply.model: no such file: {model}: expected a trained Keras model (.keras), "
            "such as results/model/model.keras of an earlier run"
        )
    return model


APPLY_IMAGES = images_to_apply()
APPLY_TABLES = tables_to_apply()
APPLY_MODEL = given_model()
# The outputs of rule apply_model (the images' predictions, each table's)
APPLIED_PREDICTIONS = {
    **({"images": "results/{prefix}applied/predictions.tsv"} if APPLY_IMAGES else {}),
    **(
        {"tables": [f"results/{{prefix}}applied/{name}.predictions.tsv" for name in APPLY_TABLES]}
        if APPLY_TABLES
        else {}
    ),
}
# Below results/{prefix}: what rule all asks for, for each run; and once for all runs.
APPLIED_RUN_OUTPUTS = [
    *(["applied/predictions.tsv", "applied/digits.png"] if APPLY_IMAGES else []),
    *(f"applied/{name}.predictions.tsv" for name in APPLY_TABLES),
]
APPLIED_DIGITS = ["results/applied/digits.tsv"] if APPLY_IMAGES else []
APPLIED_SHARED_OUTPUTS = [
    *APPLIED_DIGITS,
    *(["results/experiments/applied_agreement.tsv"] if APPLY_IMAGES and EXPERIMENTS else []),
]
RUN_OUTPUTS += APPLIED_RUN_OUTPUTS
SHARED_OUTPUTS += APPLIED_SHARED_OUTPUTS


def applied_outputs():
    """Everything the apply jobs make: for the single run, or for every experiment."""
    prefixes = experiment_files("{prefix}") if EXPERIMENTS else [""]
    return [
        *APPLIED_SHARED_OUTPUTS,
        *(f"results/{prefix}{path}" for prefix in prefixes for path in APPLIED_RUN_OUTPUTS),
    ]


def model_to_apply(wildcards):
    """apply.model, or the run's own trained model."""
    return APPLY_MODEL or f"results/{wildcards.prefix}model/model.keras"
