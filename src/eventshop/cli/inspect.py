"""`eventshop architecture` and `eventshop asyncapi`: the system model and event catalogue, derived from code."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from eventshop.contracts.architecture import as_markdown, as_mermaid, system_model
from eventshop.contracts.asyncapi import asyncapi_document


class Format(StrEnum):
    json = "json"
    markdown = "markdown"
    mermaid = "mermaid"


def architecture(
    format: Annotated[Format, typer.Option("--format", "-f", help="json, markdown or mermaid")] = Format.json,
) -> None:
    """Print containers, databases, topics, publications, subscriptions and requests."""
    model = system_model()
    if format is Format.json:
        typer.echo(json.dumps(model, indent=2))
    elif format is Format.markdown:
        typer.echo(as_markdown(model), nl=False)
    else:
        typer.echo(as_mermaid(model), nl=False)


def asyncapi(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file to write; stdout if omitted")] = None,
) -> None:
    """Write the AsyncAPI 3 document of every topic and event."""
    text = json.dumps(asyncapi_document(), indent=2)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n")
        typer.echo(f"wrote {output}")
