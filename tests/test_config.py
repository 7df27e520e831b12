"""The config schema: every key described, and its defaults are the tutorial's config.yaml."""

from pathlib import Path

import yaml
from snakemake.utils import validate

from mnist_cnn.model_builder import builder_config

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def properties(schema, path=""):
    for name, sub in schema.get("properties", {}).items():
        yield f"{path}{name}", sub
        yield from properties(sub, f"{path}{name}.")
    if isinstance(schema.get("items"), dict):
        yield from properties(schema["items"], f"{path}[].")


def test_every_key_is_described():
    schema = yaml.safe_load(SCHEMA.read_text())
    keys = dict(properties(schema))
    assert len(keys) > 40
    undescribed = [
        key for key, sub in keys.items() if "description" not in sub and "optimizer.args." not in key
    ]
    assert not undescribed


def test_schema_defaults_are_the_tutorial_config():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    validate(config, str(SCHEMA))  # fills in what config.yaml leaves out, such as Flatten's args
    defaults = {}
    validate(defaults, str(SCHEMA))
    # config.yaml writes out Adam's arguments, which are Keras' defaults: the same optimizer
    optimizer = builder_config(config["compile"], config["fit"], 0)["compile"]["optimizer"]
    assert builder_config(defaults["compile"], defaults["fit"], 0)["compile"]["optimizer"] == optimizer
    defaults["compile"]["optimizer"]["args"] = config["compile"]["optimizer"]["args"]
    assert defaults == config
