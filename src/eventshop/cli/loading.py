"""Finds service declarations by registry name, so the CLI needs no per-service code."""

from __future__ import annotations

import importlib
from typing import Any

from eventshop.contracts.registry import SERVICES
from eventshop.platform.runtime import Service


class UnknownService(Exception):
    pass


def load_service(name: str) -> Service[Any]:
    if name not in SERVICES:
        raise UnknownService(f"unknown service {name!r}; choose one of: {', '.join(SERVICES)}")
    module = importlib.import_module(f"eventshop.services.{name}.service")
    declaration: Service[Any] = module.declare()
    return declaration


def available_services() -> list[str]:
    """Services whose package exists in this installation."""
    found = []
    for name in SERVICES:
        try:
            importlib.import_module(f"eventshop.services.{name}.service")
        except ModuleNotFoundError:
            continue
        found.append(name)
    return found
