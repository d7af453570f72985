"""Entry point of the `eventshop` command: one Typer app with a sub-command per concern.

A command's module is imported only when that command runs (or its help is shown): every
process that `eventshop up` starts is this entry point, and a sandbox must not carry the
services, a service must not carry the frontend.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
from pydantic import ValidationError
from typer import _click  # typer vendors click: its commands and contexts are these classes
from typer.core import TyperGroup
from typer.main import get_group

from eventshop.platform.settings import InvalidSetting

# Blocked before any command module is imported: optional modules that libraries import when
# present and we never use. None in sys.modules makes their import fail, which each library
# handles: httpx's own CLI (pulls rich and pygments into every process, about 6 MB), the
# pydantic v1 shim that FastAPI probes for (about 2 MB) and watchfiles, which uvicorn imports for
# a code reloader no process runs (it falls back to its own).
for unused in ("httpx._main", "pydantic.v1", "watchfiles"):
    sys.modules.setdefault(unused, None)  # type: ignore[arg-type]

# name: (module under eventshop.cli, attribute: a command function or a Typer group), in help order.
COMMANDS: dict[str, tuple[str, str]] = {
    "up": ("up", "up"),
    "status": ("status", "status"),
    "serve": ("serve", "serve"),
    "frontend": ("frontend", "frontend"),
    "console": ("console", "console"),
    "console-password": ("console", "console_password"),
    "migrate": ("serve", "migrate"),
    "make-migration": ("serve", "make_migration"),
    "setup-broker": ("serve", "setup_broker"),
    "architecture": ("inspect", "architecture"),
    "asyncapi": ("inspect", "asyncapi"),
    "bench": ("bench.command", "app"),
    "sandbox": ("sandboxes", "app"),
    "dlq": ("operations", "dlq"),
    "events": ("operations", "events"),
    "orders": ("orders", "app"),
    "token": ("tokens", "token"),
    "deploy": ("deploy", "app"),
}
GROUP_HELP = {"sandbox": "Run one external-system sandbox."}
HIDDEN = {"make-migration"}


def load_command(name: str) -> _click.Command:
    """Import the command's module and build its click command exactly as an eager app would."""
    module, attribute = COMMANDS[name]
    target: Any = getattr(importlib.import_module(f"eventshop.cli.{module}"), attribute)
    holder = typer.Typer(add_completion=False)
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name, help=GROUP_HELP.get(name, typer.models.Default(None)))
    else:
        holder.command(name, hidden=name in HIDDEN)(target)
    return get_group(holder).commands[name]


class LazyCommands(TyperGroup):
    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.commands[cmd_name] = load_command(cmd_name)
        return self.commands.get(cmd_name)


app = typer.Typer(
    cls=LazyCommands, no_args_is_help=True, add_completion=False, help="eventshop: an event-driven online shop."
)


@app.callback()
def _root() -> None:
    pass


def main() -> None:
    """Run the CLI; a bad EVENTSHOP_* setting is one line naming it and exit code 2, not a traceback."""
    try:
        app()
    except InvalidSetting as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        sys.exit(2)
    except ValidationError as exc:
        problem = exc.errors()[0]
        name = "EVENTSHOP_" + "_".join(str(part) for part in problem["loc"]).upper()
        typer.secho(f"error: {name}={problem.get('input')!r}: {problem['msg']}", err=True, fg="red")
        sys.exit(2)


if __name__ == "__main__":
    main()
