# Everything that is not a rule: config validation, input functions, constants.
import math
import re
import sys
from pathlib import Path

import yaml
from jsonschema import ValidationError
from snakemake import __version__ as SNAKEMAKE_VERSION
from snakemake.common.configfile import load_configfile
from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import validate

# This repository's root: workflow.basedir is the host's when another workflow loads this one as a
# module, while current_basedir is always this file's folder.
REPO = Path(workflow.current_basedir).parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))
from mnist_cnn import IMAGE_FORMATS, ZENODO_FILES, InputError, image_files
from mnist_cnn.provenance import git_version, recorded_config
from mnist_cnn.experiments import (
    EXPERIMENTS_DIR,
    REPLICATES_DIR,
    deep_merge,
    experiment_config,
    experiment_name,
    merge_optimizer,
    replicate_number,
    run_configs,
)
from mnist_cnn.urls import check_secure_url


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


def config_layers():
    """The config's layers, each (where, mapping), in the order Snakemake merged them: the
    configfile directive's files, the --configfile files, --config. The config as one layer
    where they do not add up to it (the config a host workflow gives this one as a module).
    """
    settings = workflow.config_settings
    given = list(workflow.overwrite_configfiles)
    files = [*([] if settings.replace_workflow_config else workflow.configfiles[len(given) :]), *given]
    try:
        layers = [(str(path), load_configfile(path)) for path in files]
    except WorkflowError:
        return [("the config", config)]
    if settings.config:
        layers.append(("--config", dict(settings.config)))
    merged = {}
    for _, layer in layers:
        merged = deep_merge(merged, layer)
    return layers if merged == config else [("the config", config)]


def default_optimizer():
    """compile.optimizer.type where no config sets it: the schema's default."""
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    return schema["properties"]["compile"]["properties"]["optimizer"]["properties"]["type"]["default"]


def switch_optimizer():
    """An optimizer's args belong to its type: a config layer (file) that names another type
    leaves out the args set for the type before it, each named in an INFO line."""
    optimizer, notes = merge_optimizer(CONFIG_LAYERS, DEFAULT_OPTIMIZER)
    if "args" in optimizer:
        config["compile"]["optimizer"]["args"] = optimizer["args"]
    for note in notes.values():
        logger.info(note)


def experiment_configs():
    """Each experiment's whole config: its overrides merged over the rest of the config, checked."""
    base = {key: value for key, value in config.items() if key != "experiments"}
    merged = {}
    for name, overrides in config["experiments"].items():
        try:
            merged[name], notes = experiment_config(name, base, overrides, CONFIG_LAYERS, DEFAULT_OPTIMIZER)
        except InputError as error:
            raise WorkflowError(str(error)) from None
        for note in notes:
            logger.info(note)
        validate_config(merged[name], where=f"experiments.{name}")
    return merged


def check_holdout(values, where=""):
    """holdout.stratify needs shuffle: scikit-learn cannot stratify a split in file order."""
    holdout = values["holdout"]
    if holdout["stratify"] and not holdout["shuffle"]:
        key = ".".join(filter(None, [where, "holdout"]))
        raise WorkflowError(
            f"{key}.stratify is true but {key}.shuffle is false: an unshuffled holdout is the last "
            f"{holdout['test_size']:.0%} of the rows in file order and cannot keep the class proportions; "
            f"set {key}.stratify: false for that split, or {key}.shuffle: true"
        )


CONFIG_LAYERS = config_layers()  # before validation fills in defaults
DEFAULT_OPTIMIZER = default_optimizer()
validate_config(config)
switch_optimizer()
EXPERIMENTS = experiment_configs()
check_holdout(config)
try:
    check_secure_url(config["zenodo"]["url"])
except InputError as error:
    raise WorkflowError(str(error)) from None
for name, values in EXPERIMENTS.items():
    check_holdout(values, where=f"experiments.{name}")
REPLICATES = config["replicates"]
# Every run's {prefix} and config: the single run or each experiment, each replicate apart.
RUNS = run_configs(EXPERIMENTS or {None: config}, REPLICATES)
# rule export_onnx's output, which predict and apply_model run (config onnx)
ONNX_MODEL = {"onnx": "results/{prefix}model/model.onnx"} if config["onnx"] else {}
# Where the runs are summarised (comparison.tsv): with experiments or with replicates.
COMPARED = f"{EXPERIMENTS_DIR}/" if EXPERIMENTS else f"{REPLICATES_DIR}/"
# The report's category of what is summarised there.
COMPARED_CATEGORY = "Experiments" if EXPERIMENTS else "Replicates"

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


def check_md5_keys():
    """Each data.md5 key names a file of data.dir, or a gzipped one by its name without .gz."""
    md5 = config["data"]["md5"]
    if md5 and not DATA_DIR:
        raise WorkflowError(
            f"data.md5 ({', '.join(md5)}) is set but data.dir is empty: data.md5 checks files "
            "in data.dir (downloads are checked against the md5 the Zenodo record publishes)"
        )
    files = [Path(data_file(name)).name for name in ZENODO_FILES] if md5 else []
    for key in md5:
        if key not in files and f"{key}.gz" not in files:
            raise WorkflowError(
                f"data.md5.{key}: matches no input file; data.dir {DATA_DIR} holds {', '.join(files)} "
                "(give a file's name, or a .gz file's name without .gz for its decompressed content)"
            )


check_md5_keys()


def known_md5(wildcards, input):
    """Checksums from data.md5 for this split's files, under their names with or without .gz."""
    names = {Path(path).name for path in input}
    return {
        key: value for key, value in config["data"]["md5"].items() if key in names or f"{key}.gz" in names
    }


# Experiments (config key experiments, see config/experiments.yaml). The same rules serve the
# single run and every experiment. Making a rule per experiment takes three mechanical steps.
#   1. In its output, log and benchmark, and in inputs made per experiment, put {prefix} right
#      after results/, logs/ and benchmarks/: "results/{prefix}predictions.tsv". {prefix} is ""
#      for the single run (paths as before) and experiments/<name>/ for an experiment, with
#      replicate_<i>/ after it for each replicate (replicates/replicate_<i>/ for the single run).
#      Inputs of the shared data (results/data/...) keep plain paths: the data is made once.
#   2. In params, read model and training settings with setting("fit", "batch_size") instead of
#      config["fit"]["batch_size"]: that is the config of the run {prefix} names. An input
#      function calls run_config(wildcards) instead of reading config.
#   3. Add its outputs meant for people, below results/, to RUN_OUTPUTS: rule all then asks for
#      them for the single run or for every experiment.
# Keys shared by all runs (zenodo, data, threads) stay config[...] (the schema keeps them out
# of experiments).


# "" or a declared run's prefix. Never an empty pattern: Snakemake ignores that and
# falls back to ".+", which cannot match the single run's "".
wildcard_constraints:
    prefix="(?:" + "|".join(re.escape(prefix) for prefix in RUNS if prefix) + ")?",


def run_config(wildcards):
    """The config of the run {prefix} names: the single run, an experiment or a replicate; for
    apply.model, applied once into results/applied/ whatever the runs, "" is the config's."""
    if not wildcards.prefix and APPLY_MODEL:
        return config
    return RUNS[wildcards.prefix]


def setting(*keys):
    """A params function: run_config(wildcards)[keys[0]][keys[1]]..."""

    def lookup(wildcards):
        value = run_config(wildcards)
        for key in keys:
            value = value[key]
        return value

    return lookup


def run_files(pattern):
    """pattern, such as "results/{prefix}model/history.tsv", for each run in order."""
    return [pattern.format(prefix=prefix) for prefix in RUNS]


def compared_runs():
    """Experiment (or "single run"), replicate and seed of each run, in the order of run_files."""
    return [
        {
            "experiment": experiment_name(prefix) or "single run",
            "replicate": replicate_number(prefix) or 1,
            "seed": run["random_seed"],
        }
        for prefix, run in RUNS.items()
    ]


def run_labels():
    """A name for each run, in the order of run_files: its experiment, and its replicate if any."""
    return [
        " ".join(filter(None, [run["experiment"], f"replicate {run['replicate']}" if REPLICATES > 1 else ""]))
        for run in compared_runs()
    ]


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


def by_attempt(first):
    """A resource (runtime in minutes, mem_mb) that doubles with every retry of a failed job.

    Each rule's runtime and mem_mb are set here and only here: profiles/slurm retries a job that
    SLURM killed for its time or memory limit, and the retry asks for twice as much.
    """
    return lambda wildcards, attempt: first * 2 ** (attempt - 1)


def training_state_dir(wildcards, output):
    """Where train saves its state after every epoch, for a killed job to resume from: beside
    its outputs (under a module's prefix too), but not one of them, since Snakemake deletes a
    failed job's outputs and this must survive the failure. The train script deletes it once
    its outputs are written.
    """
    return str(Path(output.model).parent / "train_state")


def validation_name(wildcards):
    """What history.tsv's val_* columns of the run were measured on."""
    return "validation split" if run_config(wildcards)["fit"]["validation_split"] else "holdout"


def report_labels(result):
    """Labels of a result in the report: what it is, and with experiments or replicates, whose it is."""
    if not EXPERIMENTS and REPLICATES == 1:
        return {"result": result}
    return lambda wildcards: (
        {
            "result": result,
            "experiment": experiment_name(wildcards.prefix) or "single run",
            **({"replicate": str(replicate_number(wildcards.prefix))} if REPLICATES > 1 else {}),
        }
        if wildcards.prefix
        else {"result": result, "model": APPLY_MODEL}  # apply.model's, no run's
    )


def compared_files():
    """What rule compare writes below results/{COMPARED}, by name."""
    outputs = {"table": "comparison.tsv", "figure": "comparison.png", "timings": "timings.tsv"}
    if REPLICATES > 1:
        outputs["replicates"] = "replicates.tsv"
        if len(EXPERIMENTS) > 1:
            outputs["differences"] = "differences.tsv"
    return {name: f"results/{COMPARED}{path}" for name, path in outputs.items()}


def compare_outputs():
    """compared_files() for rule compare's output, each for the report with its caption, and only
    there: Snakemake finds a caption relative to the file of the rule that flags it (workflow/rules/
    here, the repository's root for rule all, which asks for the plain paths)."""
    return {
        name: report(path, caption=f"../report/{Path(path).stem}.rst", category=COMPARED_CATEGORY)
        for name, path in compared_files().items()
    }


def final_outputs():
    """The single run's outputs; with experiments or replicates, each run's and the comparison."""
    if not EXPERIMENTS and REPLICATES == 1:
        return [*(f"results/{path}" for path in RUN_OUTPUTS), *SHARED_OUTPUTS]
    return [
        *SHARED_OUTPUTS,
        *(f"results/{prefix}{path}" for prefix in RUNS for path in RUN_OUTPUTS),
        *compared_files().values(),
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
# Whose model is applied: apply.model's once, into results/applied/, whatever the runs; else each run's.
APPLIED_PREFIXES = [""] if APPLY_MODEL else list(RUNS)
# Below results/{prefix}: what the apply jobs make for each of APPLIED_PREFIXES; and once for all.
APPLIED_RUN_OUTPUTS = [
    *(["applied/predictions.tsv", "applied/digits.png"] if APPLY_IMAGES else []),
    *(f"applied/{name}.predictions.tsv" for name in APPLY_TABLES),
]
APPLIED_DIGITS = ["results/applied/digits.tsv"] if APPLY_IMAGES else []
# Where the runs read your images alike (rule applied_agreement); the comparison gives its share.
APPLIED_AGREEMENT = (
    [f"results/{COMPARED}applied_agreement.tsv"] if APPLY_IMAGES and len(APPLIED_PREFIXES) > 1 else []
)
APPLIED_SHARED_OUTPUTS = [
    *APPLIED_DIGITS,
    *APPLIED_AGREEMENT,
]


def applied_outputs():
    """Everything the apply jobs make: for apply.model or the single run, or for every experiment and replicate."""
    return [
        *APPLIED_SHARED_OUTPUTS,
        *(f"results/{prefix}{path}" for prefix in APPLIED_PREFIXES for path in APPLIED_RUN_OUTPUTS),
    ]


SHARED_OUTPUTS += applied_outputs()


def model_to_apply(wildcards):
    """apply.model (applied once, into results/applied/), or the run's own trained model."""
    if APPLY_MODEL and wildcards.prefix:
        raise WorkflowError(
            f"results/{wildcards.prefix}applied/: apply.model ({APPLY_MODEL}) is applied once, into "
            "results/applied/, not as a run's model; leave apply.model empty to apply each run's own"
        )
    return APPLY_MODEL or f"results/{wildcards.prefix}model/model.keras"
