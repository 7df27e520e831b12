"""Write the workflow's picture into README.md: the rules of the default run and what each feeds,
as Snakemake itself draws them (`snakemake --rulegraph mermaid-js`), between the README's
<!-- rulegraph --> markers.

    python tools/workflow_diagram.py            # rewrite the picture
    python tools/workflow_diagram.py --check    # exit 1 if README.md's picture is not the workflow's
"""

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
START, END = "<!-- rulegraph: written by tools/workflow_diagram.py -->", "<!-- /rulegraph -->"


def rule_graph(*snakemake_args: str) -> tuple[set[str], set[tuple[str, str]]]:
    """The rules of Snakemake's rule graph but `all`, and its edges (rule, rule that reads its output)."""
    command = [sys.executable, "-m", "snakemake", "--rulegraph", "mermaid-js", *snakemake_args]
    graph = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout
    names = dict(re.findall(r"^\s*(id\d+)\[(\w+)\]$", graph, re.M))
    edges = {(names[a], names[b]) for a, b in re.findall(r"^\s*(id\d+) --> (id\d+)$", graph, re.M)}
    return set(names.values()) - {"all"}, {edge for edge in edges if "all" not in edge}


def mermaid(rules: set[str], edges: set[tuple[str, str]]) -> str:
    alone = sorted(rules - {rule for edge in edges for rule in edge})  # rules that feed only the outputs
    lines = [f"    {a} --> {b}" for a, b in sorted(edges)] + [f"    {rule}" for rule in alone]
    return "```mermaid\nflowchart LR\n" + "\n".join(lines) + "\n```"


def readme_graph(text: str) -> tuple[set[str], set[tuple[str, str]]]:
    """The rules and edges of the picture in README.md."""
    block = text[text.index(START) : text.index(END)]
    edges = set(re.findall(r"^    (\w+) --> (\w+)$", block, re.M))
    alone = set(re.findall(r"^    (\w+)$", block, re.M))
    return alone | {rule for edge in edges for rule in edge}, edges


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the picture is stale")
    args = parser.parse_args()
    rules, edges = rule_graph()
    text = README.read_text()
    if args.check:
        if readme_graph(text) != (rules, edges):
            sys.exit(
                "README.md's workflow picture is not the workflow's: run python tools/workflow_diagram.py"
            )
        return
    start, end = text.index(START) + len(START), text.index(END)
    README.write_text(text[:start] + "\n" + mermaid(rules, edges) + "\n" + text[end:])


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
