# Loading and validating the config: the schema, the optimizer's args across config files,
# the experiments, the checks across keys; the constants read from it.
import math
import os
import re
import shutil
import sys
from pathlib import Path

import yaml
from jsonschema import ValidationError
from snakemake import __version__ as SNAKEMAKE_VERSION
from snakemake.common.configfile import load_configfile
from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.sourcecache import LocalSourceFile
from snakemake.utils import validate

# The files of workflow/scripts/mnist_cnn, which the scripts import. A workflow loaded from
# git (github()) has no folder to list, so each is named here (tests/test_module.py
# checks that this names every file of the package).
PACKAGE_FILES = (
    "__init__.py",
    "comparison.py",
    "data.py",
    "evaluation.py",
    "experiments.py",
    "figures.py",
    "handwriting.py",
    "inspection.py",
    "keras_private.py",
    "keras_runtime.py",
    "mnist_idx.py",
    "model_builder.py",
    "model_config.py",
    "onnx_model.py",
    "prediction.py",
    "provenance.py",
    "rule.py",
    "tables.py",
    "tensorflow_runtime.py",
    "training.py",
    "urls.py",
    "zenodo.py",
)


def checkout():
    """This repository's root on disk; None where another workflow loads this one from git."""
    if isinstance(workflow.current_basedir, LocalSourceFile):
        return Path(workflow.current_basedir.get_path_or_uri(secret_free=True)).parents[1]
    return None


def package_folder():
    """The folder that holds the mnist_cnn package: this checkout's workflow/scripts, or, where
    another workflow loads this one from git, its copy in Snakemake's source cache, beside the
    cached rule scripts, whose folder the script directive puts on their sys.path.
    """
    if checkout():
        return checkout() / "workflow" / "scripts"
    cached = [Path(workflow.source_path(f"../scripts/mnist_cnn/{name}")) for name in PACKAGE_FILES]
    for name, entry in zip(PACKAGE_FILES, cached):
        # gitfile(): Snakemake names a cache entry <file>@<tag>, which Python does not import
        if entry.name != name:
            copy = entry.with_name(f"{name}.{os.getpid()}")
            shutil.copyfile(entry, copy)
            os.replace(copy, entry.with_name(name))  # whole, as another snakemake may read it
    return cached[0].parent.parent


def workflow_version():
    """git describe of this checkout, or the tag (commit, branch) this workflow was loaded at."""
    if checkout():
        return git_version(checkout())
    return getattr(workflow.current_basedir, "ref", None)


sys.path.insert(0, str(package_folder()))
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
    schema = yaml.safe_load(Path(workflow.source_path("../schemas/config.schema.yaml")).read_text())
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
# rule export_onnx's output, which predict and apply_model run (config onnx)
ONNX_MODEL = {"onnx": "results/{prefix}model/model.onnx"} if config["onnx"] else {}
N_FEATURES = math.prod(config["model"]["input_shape"])
NUM_CLASSES = config["data"]["num_classes"]
DATA_DIR = config["data"]["dir"]
WORKFLOW_VERSION = workflow_version()
