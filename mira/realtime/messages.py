"""Outbox events in the shapes the Mira apps read on their socket (reference: the apps' realtime
events). Pure functions: no database, no Flask."""

from __future__ import annotations

import json
from typing import Any

# Outbox type -> the app event carrying it. Types not listed travel under their own name (the
# apps ignore events they do not know, and other clients may use them).
APP_EVENTS = {
    "interaction.created": "interaction",
    "interaction.updated": "interaction",
    "conversation.updated": "conversation",
    "action.created": "action",
    "action.updated": "action",
    "service.status": "service_status",
    "memory.created": "episodic_memory",
    "memory.updated": "episodic_memory",
    "memory.deleted": "episodic_memory",
}


def canonical_text(action: dict[str, Any]) -> str:
    """One line a person reads on a banner: what the action is about."""
    details = action.get("details") or {}
    if not isinstance(details, dict):
        return str(details)
    kind = action.get("action_type")
    if kind == "schedule":
        text = str(details.get("name") or "event")
        if details.get("location"):
            text += f" at {details['location']}"
    elif kind == "contact":
        method = details.get("method") or "message"
        text = f"{method} {details.get('name') or 'someone'}"
        if details.get("details"):
            text += f": {details['details']}"
    else:
        text = str(details.get("description") or kind or "")
    return text


def action_for_apps(action: dict[str, Any]) -> dict[str, Any]:
    """The apps read `details` as a string: a JSON object string with `canonical_text`."""
    details = action.get("details")
    if isinstance(details, str):
        return action
    body = dict(details or {})
    body.setdefault("canonical_text", canonical_text(action))
    return {**action, "details": json.dumps(body, ensure_ascii=False)}


# Job progress is for whoever polls a job (REST, /events); pushed to every socket of the network
# it would be most of the traffic, and the apps ignore it.
NOT_ON_SOCKETS = frozenset({"job.updated"})


def socket_frame(event: dict[str, Any]) -> tuple[int, str] | None:
    """(event id, the socket message as JSON text), made once however many sockets get it;
    None for events that do not go to sockets."""
    if event["type"] in NOT_ON_SOCKETS:
        return None
    text = json.dumps(socket_message(event), default=str, ensure_ascii=False)
    return int(event["id"]), text


def socket_message(event: dict[str, Any]) -> dict[str, Any]:
    """One outbox event (`id`, `type`, `data`, `created_at`) as a socket message."""
    kind = event["type"]
    data = event.get("data") or {}
    name = APP_EVENTS.get(kind, kind)
    message: dict[str, Any] = {"event": name, "id": str(event["id"]), "type": kind}
    if name == "action":
        data = action_for_apps(data)
    if name == "service_status":
        message["enabled"] = bool(data.get("service_enabled"))
    message["data"] = data
    if event.get("created_at"):
        message["created_at"] = event["created_at"]
    return message
