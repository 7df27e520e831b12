"""Documentation that is written from the code cannot drift from it."""

import config_docs
import yaml
from workflow_runner import REPO


def test_config_readme_is_what_config_docs_writes_from_the_schema():
    written = (REPO / "config" / "README.md").read_text()
    assert written == config_docs.render(), "config/README.md is out of date: run python tools/config_docs.py"


def test_config_readme_names_every_key_of_config_yaml():
    def keys(mapping, prefix=""):
        for key, value in mapping.items():
            yield f"{prefix}{key}"
            if isinstance(value, dict) and key not in ("args", "md5", "experiments"):
                yield from keys(value, f"{prefix}{key}.")

    written = (REPO / "config" / "README.md").read_text()
    for key in keys(yaml.safe_load((REPO / "config.yaml").read_text())):
        assert f"| `{key}` |" in written, key


def test_catalog_file_says_conda_and_report():
    usage = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())["usage"]
    assert usage["software-stack-deployment"]["conda"] is True and usage["report"] is True
