"""Experiments (sweeps): named variants of the config, each a set of overrides merged over it;
replicates: each run repeated with the next seeds."""

import copy
import re

from snakemake.utils import update_config

from mnist_cnn import InputError

# Where an experiment's results, logs and benchmarks go, below results/, logs/ and benchmarks/.
EXPERIMENTS_DIR = "experiments"
# Where the replicates of the single run go (those of an experiment go below its own folder).
REPLICATES_DIR = "replicates"


def deep_merge(base: dict, override: dict) -> dict:
    """A copy of ``base`` with ``override`` merged in, as Snakemake merges one more --configfile
    (with its own ``snakemake.utils.update_config``).

    Mappings merge key by key; anything else in ``override`` (a value, a list such as
    model.layers) replaces what ``base`` holds. Neither argument is changed.
    """
    merged = copy.deepcopy(base)
    update_config(merged, copy.deepcopy(override))
    return merged


def _mapping(values, *keys) -> dict:
    """values[keys[0]][keys[1]]..., or {} where that is not a mapping (left to the config check)."""
    for key in keys:
        values = values.get(key) if isinstance(values, dict) else None
    return values if isinstance(values, dict) else {}


def merge_optimizer(layers: list[tuple[str, dict]], default_type: str) -> tuple[dict, dict[str, str]]:
    """compile.optimizer as config layers set it, each (where, mapping) in the order they merge.

    Merged key by key as config files merge, except that the args of an optimizer belong to its
    type: a layer that names another type than the one in force (``default_type`` where no layer
    named one) starts that type's args afresh, from its own args, and the args set for the type
    before are left out. Also, by layer, a line naming the args left out and where they were set.
    """
    optimizer, set_by, notes = {}, {}, {}
    for where, layer in layers:
        settings = _mapping(layer, "compile", "optimizer")
        new_type, old_type = settings.get("type"), optimizer.get("type", default_type)
        args = _mapping(settings, "args")
        if new_type is not None and new_type != old_type:
            left_out = [key for key in _mapping(optimizer, "args") if key not in args]
            if left_out:
                sources = {}
                for key in left_out:
                    sources.setdefault(set_by[key], []).append(key)
                named = "; ".join(f"{', '.join(keys)} (from {source})" for source, keys in sources.items())
                notes[where] = (
                    f"{where} sets compile.optimizer.type {new_type} in place of {old_type}, so {old_type}'s "
                    f"args are left out: {named}. {new_type} gets only the args set with it or after it"
                )
            optimizer["args"] = {}
        optimizer = deep_merge(optimizer, settings)
        set_by.update(dict.fromkeys(args, where))
    return optimizer, notes


def experiment_config(
    name: str, base: dict, overrides: dict | None, layers: list[tuple[str, dict]], default_type: str
) -> tuple[dict, list[str]]:
    """An experiment's whole config, ``overrides`` merged over ``base`` (the rest of the config, which
    config ``layers`` set) as one more config file, and lines saying what of ``base`` it leaves out.

    An experiment's own model wins: with model.layers but not model.config_json it is built from
    its layers, not from the config's JSON (both set is an error). Another compile.optimizer.type
    gets only its own args, as ``merge_optimizer`` says.
    """
    where = f"experiments.{name}"
    overrides = overrides or {}
    merged, notes = deep_merge(base, overrides), []
    model = _mapping(overrides, "model")
    if "layers" in model and model.get("config_json"):
        raise InputError(
            f"{where} sets both model.layers and model.config_json ({model['config_json']}): expected one "
            "of them, model.layers to build the model from its layers or model.config_json to load a model JSON"
        )
    if "layers" in model and "config_json" not in model and base["model"]["config_json"]:
        merged["model"]["config_json"] = ""
        notes.append(
            f"{where} sets model.layers: it is built from them, not from model.config_json "
            f"({base['model']['config_json']}) of the config"
        )
    if _mapping(overrides, "compile", "optimizer").get("type") is not None:
        optimizer, left_out = merge_optimizer([*layers, (where, overrides)], default_type)
        merged["compile"]["optimizer"]["args"] = optimizer.get("args", {})
        notes.extend([left_out[where]] if where in left_out else [])
    return merged, notes


def experiment_prefix(name: str) -> str:
    """The path part that puts an experiment's files apart: ``experiments/<name>/``."""
    return f"{EXPERIMENTS_DIR}/{name}/"


def replicate_prefix(prefix: str, replicate: int) -> str:
    """Where replicate ``replicate`` (1..N) of the run at ``prefix`` goes: ``<prefix>replicate_<i>/``,
    below ``replicates/`` for the single run (prefix "")."""
    return f"{prefix or REPLICATES_DIR + '/'}replicate_{replicate}/"


def experiment_name(prefix: str) -> str | None:
    """The experiment of a path prefix; None for the single run ("" or one of its replicates)."""
    parts = prefix.split("/")
    return parts[1] if parts[0] == EXPERIMENTS_DIR else None


def replicate_number(prefix: str) -> int | None:
    """The replicate (1..N) of a path prefix; None for a run without replicates."""
    found = re.search(r"(?:^|/)replicate_(\d+)/$", prefix)
    return int(found[1]) if found else None


def run_configs(configs: dict[str | None, dict], replicates: int) -> dict[str, dict]:
    """Every run's path prefix and config, from each experiment's config (None: the single run).

    With one replicate, a run's prefix is its experiment's (or "") and its config is as given.
    With N, replicate i (1..N) gets seed random_seed + i - 1 and replicates 1, so that its
    recorded config repeats that one run.
    """
    runs = {}
    for name, config in configs.items():
        prefix = experiment_prefix(name) if name else ""
        if replicates == 1:
            runs[prefix] = config
            continue
        for replicate in range(1, replicates + 1):
            seed = config["random_seed"] + replicate - 1
            runs[replicate_prefix(prefix, replicate)] = deep_merge(
                config, {"random_seed": seed, "replicates": 1}
            )
    return runs
