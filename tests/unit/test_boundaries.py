"""The architecture is enforced: services never import each other; platform and contracts know no service."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src" / "eventshop"
SERVICES = sorted(p.name for p in (SRC / "services").iterdir() if (p / "__init__.py").exists())


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def imports_under(folder: Path) -> dict[Path, set[str]]:
    return {path: imported_modules(path) for path in folder.rglob("*.py")}


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    others = [f"eventshop.services.{s}" for s in SERVICES if s != service]
    offenders = {
        str(path.relative_to(SRC)): sorted(m for m in modules if any(m == o or m.startswith(o + ".") for o in others))
        for path, modules in imports_under(SRC / "services" / service).items()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_platform_imports_no_service_cli_frontend_or_sandbox() -> None:
    banned = ("eventshop.services", "eventshop.cli", "eventshop.frontend", "eventshop.sandboxes")
    offenders = {
        str(path.relative_to(SRC)): sorted(m for m in modules if m.startswith(banned))
        for path, modules in imports_under(SRC / "platform").items()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_contracts_import_nothing_of_ours_but_contracts() -> None:
    offenders = {
        str(path.relative_to(SRC)): sorted(
            m for m in modules if m.startswith("eventshop.") and not m.startswith("eventshop.contracts")
        )
        for path, modules in imports_under(SRC / "contracts").items()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_every_service_has_the_standard_layout() -> None:
    for service in SERVICES:
        folder = SRC / "services" / service
        expected = ("domain.py", "usecases.py", "api.py", "tables.py", "service.py")
        missing = [name for name in expected if not (folder / name).exists()]
        assert not missing, f"{service} lacks {missing}"
        assert list((folder / "migrations" / "versions").glob("*.py")), f"{service} has no migration"


def test_every_service_declaration_matches_its_registry_subscriptions() -> None:
    from eventshop.cli.loading import load_service
    from eventshop.contracts.registry import consumed_by

    for service in SERVICES:
        declaration = load_service(service)  # Service.__post_init__ refuses a mismatch
        consumed = {e for events in consumed_by(service).values() for e in events}
        assert set(declaration.handlers) == consumed
