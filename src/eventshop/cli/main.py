"""Entry point of the `eventshop` command: one Typer app with a sub-command per concern."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from eventshop.cli import deploy, frontend, inspect, operations, sandboxes, serve, up
from eventshop.cli.bench.command import app as bench_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help="eventshop: an event-driven online shop.")
app.command()(up.up)
app.command()(up.status)
app.add_typer(sandboxes.app, name="sandbox", help="Run one external-system sandbox.")
app.command()(serve.serve)
app.command()(frontend.frontend)
app.command()(serve.migrate)
app.command("make-migration", hidden=True)(serve.make_migration)
app.command()(inspect.architecture)
app.command()(inspect.asyncapi)
app.add_typer(operations.dlq, name="dlq")
app.add_typer(operations.events, name="events")
app.add_typer(bench_app, name="bench")
deployment = typer.Typer(no_args_is_help=True, help="Generate deployment manifests.")
deployment.command()(deploy.kubernetes)
app.add_typer(deployment, name="deploy")


def main() -> None:
    """Run the CLI; a bad EVENTSHOP_* setting is one line naming it, not a traceback."""
    try:
        app()
    except ValidationError as exc:
        problem = exc.errors()[0]
        name = "EVENTSHOP_" + "_".join(str(part) for part in problem["loc"]).upper()
        typer.secho(f"error: {name}={problem.get('input')!r}: {problem['msg']}", err=True, fg="red")
        sys.exit(2)


if __name__ == "__main__":
    main()
