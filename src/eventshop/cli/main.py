"""Entry point of the `eventshop` command: one Typer app with a sub-command per concern."""

from __future__ import annotations

import typer

from eventshop.cli import bench, frontend, inspect, operations, sandboxes, serve, up

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
app.command()(bench.bench)


if __name__ == "__main__":
    app()
