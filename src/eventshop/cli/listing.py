"""How the operator commands list things: a table on a terminal, fitted to its width; plain aligned lines in a
pipe, every cell whole; or JSON (`--json`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

GAP = 2  # spaces between columns


@dataclass(frozen=True)
class Column:
    header: str
    wrap: bool = False  # free text may wrap onto more lines; ids, times and numbers stay on one
    min_width: int = 0  # of a wrapping column
    drop: int = 0  # when the terminal is too narrow, columns with drop > 0 are left out, the highest first


def print_table(columns: Sequence[Column], rows: Sequence[Sequence[str]], title: str | None = None,
                console: Console | None = None) -> None:
    """Cells are Rich markup (escape what is not)."""
    out = console or Console()
    plain = [[Text.from_markup(cell).plain for cell in row] for row in rows]
    if not out.is_terminal:
        lines = [[column.header for column in columns], *plain]
        widths = [max(len(cell) for cell in cells) for cells in zip(*lines, strict=True)]
        if title:
            typer.echo(title)
        for line in lines:
            typer.echo((" " * GAP).join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
        return
    kept = fitting(columns, plain, out.width)
    left_out = [column.header for index, column in enumerate(columns) if index not in kept]
    caption = f"{', '.join(left_out)} left out at this width (--json has every field)" if left_out else None
    table = Table(title=title, box=None, pad_edge=False, header_style="bold", caption=caption)
    for index in kept:
        column = columns[index]
        table.add_column(column.header, no_wrap=not column.wrap, overflow="fold" if column.wrap else "ellipsis",
                         min_width=column.min_width or None)
    for row in rows:
        table.add_row(*[row[index] for index in kept])
    out.print(table)


def fitting(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> list[int]:
    """The columns that fit `width`, leaving out droppable ones until the others fit whole."""
    def natural(index: int) -> int:
        longest = max([len(columns[index].header), *(len(row[index]) for row in rows)])
        return min(longest, max(columns[index].min_width, len(columns[index].header))) if columns[index].wrap \
            else longest

    kept = list(range(len(columns)))
    for index in sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: -columns[i].drop):
        if sum(natural(i) for i in kept) + GAP * (len(kept) - 1) <= width:
            break
        kept.remove(index)
    return kept


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))
