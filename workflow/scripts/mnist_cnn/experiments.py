"""Experiments (sweeps): named variants of the config, each a set of overrides merged over it."""

import copy

# Where an experiment's results, logs and benchmarks go, below results/, logs/ and benchmarks/.
EXPERIMENTS_DIR = "experiments"


def deep_merge(base: dict, override: dict) -> dict:
    """A copy of ``base`` with ``override`` merged in, as Snakemake merges one more --configfile.

    Mappings merge key by key; anything else in ``override`` (a value, a list such as
    model.layers) replaces what ``base`` holds. Neither argument is changed.
    """
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def experiment_prefix(name: str) -> str:
    """The path part that puts an experiment's files apart: ``experiments/<name>/``."""
    return f"{EXPERIMENTS_DIR}/{name}/"


def experiment_name(prefix: str) -> str | None:
    """The experiment of a path prefix; None for "" (the single run with the base config)."""
    return prefix.removeprefix(f"{EXPERIMENTS_DIR}/").removesuffix("/") or None
