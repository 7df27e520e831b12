"""Tables and text as small self-contained HTML pages, which the Snakemake report shows inline."""

import html

import numpy as np
import pandas as pd

STYLE = """
body { font-family: sans-serif; margin: 1em; color: #111; }
h1 { font-size: 1.2em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.7em; }
th { background: #eee; }
.number { text-align: right; font-variant-numeric: tabular-nums; }
.text { text-align: left; }
pre { background: #f4f4f4; padding: 0.8em; }
"""


def html_page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body>\n</html>\n"
    )


def _cell(value, numeric: bool, float_format: str) -> str:
    if pd.isna(value):
        text = ""
    elif not numeric:
        text = html.escape(str(value))
    elif isinstance(value, (int, np.integer)):
        text = f"{value:,}"
    else:
        text = float_format.format(value)
    return f'<td class="{"number" if numeric else "text"}">{text}</td>'


def table_html(table: pd.DataFrame, float_format: str = "{:.4f}") -> str:
    """An HTML table: a named index becomes the first column; numbers right, text left; NaN empty.

    Whole numbers get thousands separators (30,634); other numbers ``float_format``.
    """
    if table.index.name is not None:
        table = table.reset_index()
    numeric = [pd.api.types.is_numeric_dtype(table[name]) for name in table.columns]
    header = "".join(
        f'<th class="{"number" if num else "text"}">{html.escape(str(name))}</th>'
        for name, num in zip(table.columns, numeric, strict=True)
    )
    rows = "".join(
        "<tr>" + "".join(_cell(v, num, float_format) for v, num in zip(row, numeric, strict=True)) + "</tr>\n"
        for row in table.itertuples(index=False)
    )
    return f"<table>\n<thead><tr>{header}</tr></thead>\n<tbody>\n{rows}</tbody>\n</table>"


def write_html_table(table: pd.DataFrame, path, title: str, float_format: str = "{:.4f}") -> None:
    """``table`` as an HTML page (see ``table_html``)."""
    with open(path, "w", encoding="utf-8") as out:
        out.write(html_page(title, table_html(table, float_format)))


def write_html_text(text: str, path, title: str) -> None:
    """Preformatted text (a YAML file, say) as an HTML page."""
    with open(path, "w", encoding="utf-8") as out:
        out.write(html_page(title, f"<pre>{html.escape(text)}</pre>"))
