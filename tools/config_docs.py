"""Write config/README.md, every key of config.yaml with its type, default and meaning, from the
config's schema (workflow/schemas/config.schema.yaml), so that the two cannot disagree.

    python tools/config_docs.py            # write config/README.md
    python tools/config_docs.py --check    # exit 1 if config/README.md is not what it would write
"""

import argparse
import json
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
OUTPUT = REPO / "config" / "README.md"
HEADER = """# Configuration

`config.yaml` holds the tutorial's settings; each file in this folder changes some of them, as
`snakemake --cores 2 --configfile config/<file>.yaml` (several files merge key by key, the last
one winning). Every key, with its type and its default (what a key left out is), as the schema
`workflow/schemas/config.schema.yaml` says; written by `tools/config_docs.py` from it.

| file | what it changes |
|---|---|
{files}

## Keys
"""


def kind(schema: dict) -> str:
    types = schema.get("type", "")
    text = " or ".join(types) if isinstance(types, list) else types
    if "enum" in schema:
        text = ", ".join(f"`{value}`" for value in schema["enum"])
    if schema.get("type") == "array" and "type" in schema.get("items", {}):
        text = f"list of {kind(schema['items'])}"
    return text or "any"


def cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def rows(properties: dict, prefix: str = ""):
    for name, schema in properties.items():
        key = f"{prefix}{name}"
        default = (
            json.dumps(schema["default"]) if "default" in schema and schema.get("type") != "object" else ""
        )
        yield f"| `{key}` | {kind(schema)} | {f'`{default}`' if default else ''} | {cell(schema.get('description', ''))} |"
        if schema.get("type") == "object" and "properties" in schema:
            yield from rows(schema["properties"], f"{key}.")


def purpose(path: Path) -> str:
    """The first sentence of a config file's opening comment: what it is for."""
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# "))
    text = " ".join(lines)
    end = min((i for i in (text.find(". "), text.find(": ")) if i >= 0), default=len(text))
    return cell(text[:end])


def render() -> str:
    schema = yaml.safe_load(SCHEMA.read_text())
    files = "\n".join(
        f"| [`{path.name}`]({path.name}) | {purpose(path)} |"
        for path in sorted((REPO / "config").glob("*.yaml"))
    )
    table = ["| key | type | default | meaning |", "|---|---|---|---|", *rows(schema["properties"])]
    return HEADER.format(files=files) + "\n" + "\n".join(table) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the file would change")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            sys.exit(f"{OUTPUT.relative_to(REPO)} is out of date: run python tools/config_docs.py")
        return
    OUTPUT.write_text(text)


if __name__ == "__main__":
    main()
