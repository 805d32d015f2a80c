"""Episodic memories: distilled from what is heard, kept through their lifecycle.

`remember` runs with the assistant's reaction to each interaction (mira.pipeline.reaction):
the offline rules (mira.assistant.memories) or Gemini, through the brain, say what is worth
keeping; a correction ("actually, make it Friday at 6") supersedes the latest open plan or
commitment of the network with a new one at the new time. People confirm, dismiss or cancel a
memory; its time passing expires it (`expire_due`, run with the reminders). Every change
records a `memory.created` or `memory.updated` event (`episodic_memory` on the sockets).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from mira.events import services as events
from mira.extensions import db
from mira.memories.models import OPEN_STATUSES, Memory
from mira.queries import in_network, page
from mira.types import utcnow


def event_data(memory: Memory) -> dict[str, Any]:
    from mira.memories.schemas import MemorySchema

    return MemorySchema().dump(memory)


def _step(previous: str | None, status: str, reason: str, now: datetime) -> dict[str, Any]:
    """One entry of a memory's transition_history."""
    at = now.isoformat().replace("+00:00", "Z")
    return {"from": previous, "to": status, "at": at, "reason": reason}


def _transition(memory: Memory, status: str, reason: str, now: datetime | None = None) -> None:
    step = _step(memory.status, status, reason, now or utcnow())
    memory.transition_history = [*(memory.transition_history or []), step]
    memory.status = status


def get(network_id: uuid.UUID, memory_id: uuid.UUID) -> Memory:
    return in_network(Memory, network_id, memory_id, "Memory")


def list_memories(network_id: uuid.UUID, limit: int, offset: int, **filters):
    query = db.select(Memory).where(Memory.network_id == network_id)
    if filters.get("memory_type"):
        query = query.where(Memory.memory_type == filters["memory_type"])
    if filters.get("status"):
        query = query.where(Memory.status == filters["status"])
    return page(query.order_by(Memory.created_at.desc(), Memory.id), limit, offset)


def set_status(network_id: uuid.UUID, memory_id: uuid.UUID, status: str) -> Memory:
    memory = get(network_id, memory_id)
    if memory.status != status:
        _transition(memory, status, "set by a person")
        db.session.flush()
        events.record(network_id, "memory.updated", event_data(memory))
    db.session.commit()
    return memory


def delete(network_id: uuid.UUID, memory_id: uuid.UUID) -> None:
    """Idempotent: a memory already gone is fine."""
    memory = db.session.scalar(
        db.select(Memory).where(Memory.network_id == network_id, Memory.id == memory_id)
    )
    if memory is not None:
        data = event_data(memory)
        db.session.delete(memory)
        events.record(network_id, "memory.deleted", {**data, "status": "cancelled"})
    db.session.commit()


def _latest_open_plan(network_id: uuid.UUID) -> Memory | None:
    return db.session.scalar(
        db.select(Memory)
        .where(
            Memory.network_id == network_id,
            Memory.memory_type.in_(("plan", "commitment")),
            Memory.status.in_(OPEN_STATUSES),
            Memory.proposed_start_at.is_not(None),
        )
        .order_by(Memory.created_at.desc())
        .limit(1)
    )


def remember(interaction, found, now: datetime, engine: str) -> list[Memory]:
    """Store what `found` (ExtractedMemory list) holds for this interaction, once; supersede the
    plan a correction changes. The caller commits (with the rest of the reaction)."""
    from mira.assistant.memories import correction_time

    existing = set(
        db.session.scalars(
            db.select(Memory.canonical_text).where(
                Memory.network_id == interaction.network_id,
                Memory.source_interaction_id == interaction.id,
            )
        )
    )
    participants = [str(interaction.person_id)] if interaction.person_id else []
    provenance = {
        "engine": engine,
        "interaction_id": str(interaction.id),
        "text": interaction.text,
        "heard_at": interaction.timestamp.isoformat() if interaction.timestamp else None,
    }
    made: list[Memory] = []

    def add(status: str = "proposed", **fields) -> Memory:
        reason = "asked to remember" if status == "confirmed" else "heard"
        memory = Memory(
            id=uuid.uuid4(),
            network_id=interaction.network_id,
            source_conversation_id=interaction.conversation_id,
            source_interaction_id=interaction.id,
            participant_person_ids=participants,
            provenance=provenance,
            status=status,
            transition_history=[_step(None, status, reason, utcnow())],
            **fields,
        )
        db.session.add(memory)
        db.session.flush()
        events.record(interaction.network_id, "memory.created", event_data(memory))
        made.append(memory)
        return memory

    new_time = correction_time(interaction.text or "", now)
    if new_time is not None:
        old = _latest_open_plan(interaction.network_id)
        if old is not None and old.source_interaction_id != interaction.id:
            length = (
                (old.proposed_end_at - old.proposed_start_at)
                if old.proposed_end_at and old.proposed_start_at
                else timedelta(hours=1)
            )
            what = old.canonical_text.split(" (")[0]
            newer = add(
                memory_type=old.memory_type,
                canonical_text=f"{what} ({new_time:%a %d %b %H:%M})",
                action_kind=old.action_kind,
                proposed_start_at=new_time,
                proposed_end_at=new_time + length if old.proposed_end_at else None,
                expires_at=new_time + (length if old.memory_type == "plan" else timedelta(days=1)),
                confidence=old.confidence,
            )
            _transition(old, "superseded", f"changed by: {interaction.text}")
            old.superseded_by_id = newer.id
            db.session.flush()
            events.record(interaction.network_id, "memory.updated", event_data(old))
        return made
    for memory in found:
        if memory.canonical_text in existing:
            continue
        add(
            memory_type=memory.memory_type,
            canonical_text=memory.canonical_text,
            action_kind=memory.action_kind,
            proposed_start_at=memory.proposed_start_at,
            proposed_end_at=memory.proposed_end_at,
            expires_at=memory.expires_at,
            confidence=memory.confidence,
            status=memory.status,
        )
    return made


SEARCH_SCAN = 1000  # the newest memories a search reads (a household's, many times over)


def search(network_id: uuid.UUID, query: str, limit: int = 3) -> list[Memory]:
    """The network's memories that answer `query` best: most words in common, open ones before
    expired ones, newer first. Dismissed and superseded memories are not recalled."""
    from mira.assistant.memories import recall_terms, relevance

    terms = recall_terms(query)
    candidates = db.session.scalars(
        db.select(Memory)
        .where(
            Memory.network_id == network_id,
            Memory.status.not_in(("dismissed", "superseded", "cancelled")),
        )
        .order_by(Memory.created_at.desc())
        .limit(SEARCH_SCAN)
    ).all()
    if not terms:  # "what do you remember?": the newest open ones
        return [m for m in candidates if m.status in OPEN_STATUSES][:limit]
    scored = [(relevance(terms, m.canonical_text), m) for m in candidates]
    scored = [(score, m) for score, m in scored if score > 0]
    scored.sort(key=lambda pair: (-pair[0], pair[1].status not in OPEN_STATUSES))
    return [m for _, m in scored[:limit]]


def expire_due(now: datetime | None = None) -> int:
    """Open memories whose time has passed become `expired` (each once, with its event)."""
    now = now or utcnow()
    due = db.session.scalars(
        db.select(Memory.id)
        .where(Memory.status.in_(OPEN_STATUSES), Memory.expires_at <= now)
        .limit(500)
    ).all()
    db.session.rollback()
    expired = 0
    for memory_id in due:
        claimed = db.session.execute(
            db.update(Memory)
            .where(Memory.id == memory_id, Memory.status.in_(OPEN_STATUSES))
            .values(status="expired")
        ).rowcount
        if claimed != 1:
            db.session.rollback()
            continue
        memory = db.session.get(Memory, memory_id, populate_existing=True)
        history = memory.transition_history or []
        previous = history[-1]["to"] if history else None
        memory.transition_history = [*history, _step(previous, "expired", "its time passed", now)]
        db.session.flush()
        events.record(memory.network_id, "memory.updated", event_data(memory))
        db.session.commit()
        expired += 1
    return expired
