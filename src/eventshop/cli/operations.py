"""Operator commands on the broker: `eventshop dlq ...` and `eventshop events tail`."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from nats.aio.client import Client as NATS
from nats.js.api import DeliverPolicy
from nats.js.errors import APIError, NotFoundError
from rich.console import Console
from rich.markup import escape

from eventshop.cli.listing import Column, print_json, print_table
from eventshop.cli.locating import DataDirOption, LocatedShop, NatsUrlOption, PortBaseOption, locate
from eventshop.contracts.registry import TOPICS
from eventshop.platform import deadletters
from eventshop.platform.broker import DEAD_LETTER_STREAM, BrokerRefused, connect
from eventshop.platform.broker_auth import OPERATOR, login_for

SHOW_BYTES = 4000  # of a payload printed by `dlq show`
dlq = typer.Typer(no_args_is_help=True, help="Inspect and replay messages parked in the dead-letter stream.")
events = typer.Typer(no_args_is_help=True, help="Watch events as they flow.")
JsonOption = Annotated[bool, typer.Option("--json", help="JSON instead of a table")]


def console() -> Console:
    """Built per command, so the terminal's width (COLUMNS) at that moment is used."""
    return Console()


T = TypeVar("T")


def shown(text: str, limit: int | None = None) -> str:
    """Any text as one safe line: control characters escaped, Rich markup taken literally."""
    visible = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    return escape(visible[:limit] if limit else visible)


def with_broker(shop: LocatedShop, command: str, action: Callable[[NATS], Awaitable[T]]) -> T:
    """Connect as the operator, run, close; an unreachable broker or a missing stream is one line and exit 1."""
    url = shop.broker_url

    async def run() -> T:
        try:
            nc = await asyncio.wait_for(
                connect(url, "eventshop-cli", login=login_for(shop.settings, OPERATOR), persistent=False), timeout=5)
        except BrokerRefused:
            raise
        except Exception:
            raise ConnectionError(f"cannot reach the broker at {url}: {shop.advice(command)}") from None
        try:
            return await action(nc)
        finally:
            await nc.close()

    try:
        return asyncio.run(run())
    except (ConnectionError, BrokerRefused, deadletters.OriginalGone) as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None
    except NotFoundError:
        typer.secho("error: no such dead letter (or no dead-letter stream yet)", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None
    except APIError as exc:
        typer.secho(f"error: the broker refused: {exc.description}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None


def letter_as_json(letter: deadletters.DeadLetter) -> dict[str, Any]:
    return {"sequence": letter.sequence, "time": letter.time.isoformat() if letter.time else None,
            "consumer": letter.consumer, "subject": letter.subject, "event_id": letter.event_id,
            "deliveries": letter.deliveries, "error": letter.error, "reference": letter.reference}


@dlq.command("list")
def dlq_list(data_dir: DataDirOption = None, port_base: PortBaseOption = None, nats_url: NatsUrlOption = None,
             as_json: JsonOption = False) -> None:
    """List parked messages: sequence, time, consumer, event, error."""
    shop = locate(data_dir, port_base, nats_url)
    letters = with_broker(shop, "eventshop dlq list", lambda nc: deadletters.list_dead_letters(nc.jetstream()))
    if as_json:
        print_json([letter_as_json(letter) for letter in letters])
        return
    if not letters:
        console().print("no dead letters")
        return
    columns = [Column("seq"), Column("time"), Column("consumer"), Column("subject", drop=1), Column("event id", drop=2),
               Column("tries"), Column("error", wrap=True, min_width=20)]
    print_table(columns, [[
        str(letter.sequence),
        letter.time.strftime("%Y-%m-%d %H:%M") if letter.time else "",
        shown(letter.consumer),
        shown(letter.subject),
        shown(letter.event_id or ("(reference)" if letter.reference else "-")),
        str(letter.deliveries),
        shown(letter.error, 200),
    ] for letter in letters])


@dlq.command("show")
def dlq_show(sequence: Annotated[int, typer.Argument(help="sequence number from `dlq list`")],
             data_dir: DataDirOption = None, port_base: PortBaseOption = None, nats_url: NatsUrlOption = None) -> None:
    """Show one parked message with its full error and payload."""

    async def fetch(nc: NATS) -> tuple[deadletters.DeadLetter, bytes, str]:
        js = nc.jetstream()
        letter = await deadletters.get_dead_letter(js, sequence)
        try:
            return letter, await deadletters.original_payload(js, letter), ""
        except deadletters.OriginalGone as exc:
            return letter, letter.payload, str(exc)

    letter, payload, gone = with_broker(locate(data_dir, port_base, nats_url), f"eventshop dlq show {sequence}", fetch)
    out = console()
    out.print(f"[bold]sequence[/] {letter.sequence}\n[bold]subject[/]  {shown(letter.subject)}")
    out.print(f"[bold]consumer[/] {shown(letter.consumer)}\n[bold]tries[/]    {letter.deliveries}")
    out.print(f"[bold]error[/]    {shown(letter.error)}")
    if letter.reference:
        out.print(f"[bold]original[/] {shown(letter.stream)} sequence {letter.original_sequence}, "
                  f"{letter.original_size} bytes (parked by reference: too large to copy)")
    if gone:
        out.print(f"[yellow]{shown(gone)}[/]")
    if len(payload) > SHOW_BYTES:
        out.print(f"payload: {len(payload)} bytes, the first {SHOW_BYTES} shown")
    head = payload[:SHOW_BYTES]
    try:
        json.loads(head)
        out.print_json(head.decode())
    except (ValueError, UnicodeDecodeError):
        out.print(shown(head.decode("utf-8", "backslashreplace")))


@dlq.command("replay")
def dlq_replay(
    sequence: Annotated[int | None, typer.Argument(help="one message; all when omitted with --all")] = None,
    all_: Annotated[bool, typer.Option("--all", help="replay every parked message")] = False,
    data_dir: DataDirOption = None, port_base: PortBaseOption = None, nats_url: NatsUrlOption = None,
) -> None:
    """Publish parked messages again on their original subject; each is removed once the broker acks."""
    if sequence is None and not all_:
        typer.secho("error: give a sequence number or --all", err=True, fg=typer.colors.RED)
        raise typer.Exit(2)

    async def run(nc: NATS) -> list[int]:
        js = nc.jetstream()
        targets = [sequence] if sequence is not None else [d.sequence for d in await deadletters.list_dead_letters(js)]
        for seq in targets:
            await deadletters.replay(js, seq)
        return targets

    command = f"eventshop dlq replay {sequence if sequence is not None else '--all'}"
    replayed = with_broker(locate(data_dir, port_base, nats_url), command, run)
    console().print(f"replayed {len(replayed)} message(s): {', '.join(map(str, replayed)) or '-'}")


@dlq.command("purge")
def dlq_purge(
    sequence: Annotated[int | None, typer.Argument(help="one message; all when omitted")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False,
    data_dir: DataDirOption = None, port_base: PortBaseOption = None, nats_url: NatsUrlOption = None,
) -> None:
    """Delete parked messages for good."""
    if not yes and not typer.confirm(f"delete {'message ' + str(sequence) if sequence else 'ALL dead letters'}?"):
        raise typer.Exit(1)
    shop = locate(data_dir, port_base, nats_url)
    command = f"eventshop dlq purge {sequence if sequence is not None else ''}".rstrip() + " --yes"
    removed = with_broker(shop, command, lambda nc: deadletters.purge(nc.jetstream(), sequence))
    console().print(f"removed {removed} message(s)")


def describe_event(subject: str, data: bytes) -> str:
    try:
        env: dict[str, Any] = json.loads(data)
    except ValueError:
        return f"{shown(subject)}  (not JSON, {len(data)} bytes)"
    def field(name: str, default: str = "-") -> str:
        return shown(str(env.get(name, default)))

    return (
        f"[dim]{field('time', '')[11:23]}[/] [bold cyan]{field('type', '?')}[/] subject=[yellow]{field('subject')}[/] "
        f"correlation={field('correlationid')} source={field('source')}"
    )


@events.command("tail")
def events_tail(
    topic: Annotated[str | None, typer.Option(help=f"one of {', '.join(TOPICS)}")] = None,
    order: Annotated[str | None, typer.Option(help="only events about this order (correlation id)")] = None,
    history: Annotated[bool, typer.Option(help="start from the beginning of each stream")] = False,
    data_dir: DataDirOption = None, port_base: PortBaseOption = None, nats_url: NatsUrlOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="each event as one line of JSON: its envelope")] = False,
) -> None:
    """Print events across topics as they happen, one line each (Ctrl-C to stop)."""
    if topic is not None and topic not in TOPICS:
        typer.secho(f"error: unknown topic {topic!r}; choose one of {', '.join(TOPICS)}", err=True, fg="red")
        raise typer.Exit(2)
    subjects = [f"{topic}.>"] if topic else [f"{t}.>" for t in TOPICS]

    async def run(nc: NATS) -> None:
        js = nc.jetstream()
        streams = {subject: TOPICS[subject.split(".")[0]].stream for subject in subjects}
        # With --history, what the streams held at start is printed once, merged by event time.
        backlog: dict[str, int] = {}
        if history:
            for stream in streams.values():
                state = (await js.stream_info(stream)).state
                if state.messages:
                    backlog[stream] = state.last_seq
        held: list[tuple[str, str, bytes]] = []

        def release() -> None:
            for _, subject, data in sorted(held, key=lambda item: item[0]):
                print_event(subject, data, as_json)
            held.clear()

        async def show(msg: Any) -> None:
            try:
                env = json.loads(msg.data)
            except ValueError:
                env = {}
            if order and order not in (env.get("correlationid"), env.get("subject")):
                env = None
            if backlog:
                if env is not None:
                    held.append((str(env.get("time", "")), msg.subject, msg.data))
                stream, seq = msg.metadata.stream, msg.metadata.sequence.stream
                if stream in backlog and seq >= backlog[stream]:
                    del backlog[stream]
                if not backlog:
                    release()
                return
            if env is not None:
                print_event(msg.subject, msg.data, as_json)

        Console(stderr=as_json).print(f"[dim]watching {', '.join(subjects)} (Ctrl-C to stop)[/]", soft_wrap=True)
        for subject, stream in streams.items():
            await js.subscribe(subject, stream=stream, cb=show, ordered_consumer=True,
                               deliver_policy=None if history else _new_only())
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        with_broker(locate(data_dir, port_base, nats_url), "eventshop events tail", run)


def print_event(subject: str, data: bytes, as_json: bool) -> None:
    if not as_json:
        console().print(describe_event(subject, data), highlight=False, soft_wrap=True)
        return
    try:
        envelope = json.loads(data)
    except ValueError:
        envelope = {"nats_subject": subject, "not_json_bytes": len(data)}
    typer.echo(json.dumps(envelope, separators=(",", ":")))


def _new_only() -> Any:
    return DeliverPolicy.NEW


__all__ = ["DEAD_LETTER_STREAM", "dlq", "events"]
