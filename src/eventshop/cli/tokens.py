"""`eventshop token`: an operator's bearer token for one service, for curl and scripts."""

from __future__ import annotations

from typing import Annotated

import typer

from eventshop.cli.locating import DataDirOption, locate
from eventshop.cli.preflight import fail
from eventshop.contracts.registry import SERVICES
from eventshop.platform.identity import OPERATOR as OPERATOR_IDENTITY
from eventshop.platform.identity import SERVICE_TOKEN_SECONDS, MissingKeys, load_keyring


def token(
    service: Annotated[str, typer.Argument(help="the service it is for (its audience): " + ", ".join(SERVICES))],
    data_dir: DataDirOption = None,
) -> None:
    """Print an operator token for SERVICE (valid 5 minutes), signed with the operator key of the shop's data
    directory (or EVENTSHOP_HTTP_KEY): `curl -H "Authorization: Bearer $(eventshop token order)" ...`."""
    if service not in SERVICES:
        raise fail(f"unknown service {service!r}; one of: {', '.join(SERVICES)}", 2)
    shop = locate(data_dir)
    try:
        keyring = load_keyring(shop.settings, OPERATOR_IDENTITY)
    except MissingKeys as exc:
        raise fail(str(exc), 2) from None
    typer.echo(keyring.mint(service, seconds=SERVICE_TOKEN_SECONDS))
