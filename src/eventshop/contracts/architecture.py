"""The system model derived from the registry, in the seed's own names (for `eventshop architecture`)."""

from __future__ import annotations

from typing import Any

from eventshop.contracts.registry import (
    EXTERNAL_SYSTEMS,
    FRONTEND,
    INTERNAL_SYSTEMS,
    PUBLICATIONS,
    REQUESTS,
    SERVICES,
    STYLES,
    SUBSCRIPTIONS,
    TOPICS,
    display_name,
)


def system_model() -> dict[str, Any]:
    containers: list[dict[str, Any]] = []
    for service in SERVICES.values():
        containers.append({"name": service.name, "kind": "service"})
        if service.database:
            entry: dict[str, Any] = {"name": service.database, "kind": "database"}
            if service.database_is_addition:
                entry["addition"] = True
            containers.append(entry)
    containers += [{"name": topic.name, "kind": "topic"} for topic in TOPICS.values()]
    containers.append({"name": FRONTEND, "kind": "frontend"})
    return {
        "containers": containers,
        "systems": [{"name": name, "external": True} for name in EXTERNAL_SYSTEMS]
        + [{"name": name, "external": False} for name in INTERNAL_SYSTEMS],
        "requests": [
            {
                "from": display_name(r.source),
                "to": display_name(r.target),
                "description": r.description,
                "addition": r.addition,
                "styles": list(r.styles),
            }
            for r in REQUESTS
        ],
        "publications": [
            {"service": display_name(p.service), "topic": TOPICS[p.topic].name, "events": list(p.events)}
            for p in PUBLICATIONS
        ],
        "subscriptions": [
            {
                "service": display_name(s.service),
                "topic": TOPICS[s.topic].name,
                "events": list(s.events),
                "addition": s.addition,
                "styles": list(s.styles),
            }
            for s in SUBSCRIPTIONS
        ],
    }


def styles_label(styles: list[str]) -> str:
    """`both`, or the one saga style (EVENTSHOP_SAGA) that uses a request or subscription."""
    return "both" if set(styles) == set(STYLES) else ", ".join(styles)


def as_markdown(model: dict[str, Any]) -> str:
    out = ["# eventshop architecture", "", "## Containers", "", "| Container | Kind |", "|---|---|"]
    out += [f"| {c['name']} | {c['kind']}{' (addition)' if c.get('addition') else ''} |" for c in model["containers"]]
    out += ["", "## Systems", "", "| System | External |", "|---|---|"]
    out += [f"| {s['name']} | {'yes' if s['external'] else 'no'} |" for s in model["systems"]]
    for title, additions in (("Synchronous Requests", False), ("Additions beyond the seed", True)):
        out += ["", f"## {title}", "", "| From | To | Description | Saga style |", "|---|---|---|---|"]
        out += [
            f"| {r['from']} | {r['to']} | {r['description']} | {styles_label(r['styles'])} |"
            for r in model["requests"] if r["addition"] is additions
        ]
    out += ["", "## Asynchronous Publish/Produce", "", "| From | To | Events |", "|---|---|---|"]
    out += [f"| {p['service']} | {p['topic']} | {', '.join(p['events'])} |" for p in model["publications"]]
    for title, additions in (("Asynchronous Subscribe/Consume", False), ("Subscriptions beyond the seed", True)):
        out += ["", f"## {title}", "", "| From | To | Events | Saga style |", "|---|---|---|---|"]
        out += [
            f"| {s['service']} | {s['topic']} | {', '.join(s['events'])} | {styles_label(s['styles'])} |"
            for s in model["subscriptions"] if s["addition"] is additions
        ]
    return "\n".join(out) + "\n"


def _node(name: str) -> str:
    return "".join(ch for ch in name.title() if ch.isalnum())


def as_mermaid(model: dict[str, Any]) -> str:
    out = ["flowchart LR"]
    shapes = {"database": ("[(", ")]"), "topic": ("{{", "}}"), "service": ("[", "]"), "frontend": ("[/", "/]")}
    for c in model["containers"]:
        left, right = shapes[c["kind"]]
        out.append(f"  {_node(c['name'])}{left}\"{c['name']}\"{right}")
    for s in model["systems"]:
        out.append(f"  {_node(s['name'])}([\"{s['name']}\"])")
    out.append(f"  {_node('Customer')}((\"Customer\"))")
    for r in model["requests"]:
        arrow = "-.->" if r["addition"] else "-->"
        out.append(f"  {_node(r['from'])} {arrow}|{r['description']}| {_node(r['to'])}")
    for p in model["publications"]:
        out.append(f"  {_node(p['service'])} ==>|{', '.join(p['events'])}| {_node(p['topic'])}")
    for s in model["subscriptions"]:
        arrow = "-. addition .->" if s["addition"] else "-.->"
        out.append(f"  {_node(s['topic'])} {arrow}|{', '.join(s['events'])}| {_node(s['service'])}")
    return "\n".join(out) + "\n"
