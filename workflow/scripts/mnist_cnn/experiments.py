"""Experiments (sweeps): named variants of the config, each a set of overrides merged over it;
replicates: each run repeated with the next seeds."""

import copy
import re

# Where an experiment's results, logs and benchmarks go, below results/, logs/ and benchmarks/.
EXPERIMENTS_DIR = "experiments"
# Where the replicates of the single run go (those of an experiment go below its own folder).
REPLICATES_DIR = "replicates"


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
