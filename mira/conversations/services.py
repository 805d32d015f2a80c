"""Conversations: interactions of a network grouped by time and speakers."""

from __future__ import annotations

import uuid
from typing import Any

from mira.conversations.models import Conversation
from mira.events import services as events
from mira.extensions import db
from mira.interactions.models import Interaction
from mira.queries import in_network, page


def get(network_id: uuid.UUID, conversation_id: uuid.UUID) -> Conversation:
    return in_network(Conversation, network_id, conversation_id, "Conversation")


def _still_going(conversations: list[Conversation]) -> set[uuid.UUID]:
    """Conversations whose network may still add to them: the newest one, until its gap has
    passed with nobody speaking (after that the next utterance starts a new conversation)."""
    from datetime import timedelta

    from mira.networks import settings as network_settings
    from mira.networks.models import Network
    from mira.types import utcnow

    now, gaps, going = utcnow(), {}, set()
    for c in conversations:
        if not c.is_active:
            continue
        if c.network_id not in gaps:
            network = db.session.get(Network, c.network_id)
            gaps[c.network_id] = network_settings.conversation_gaps(network.settings)[0]
        last = c.ended_at or c.started_at
        if last is None or now - last <= timedelta(seconds=gaps[c.network_id]):
            going.add(c.id)
    return going


def as_dicts(conversations: list[Conversation]) -> list[dict[str, Any]]:
    ids = [c.id for c in conversations]
    going = _still_going(conversations)
    counts = (
        dict(
            db.session.execute(
                db.select(Interaction.conversation_id, db.func.count())
                .where(Interaction.conversation_id.in_(ids))
                .group_by(Interaction.conversation_id)
            ).all()
        )
        if ids
        else {}
    )
    return [
        {
            "id": c.id,
            "network_id": c.network_id,
            "title": c.title,
            "topic_summary": c.topic_summary,
            "context_summary": c.context_summary,
            "started_at": c.started_at,
            "ended_at": c.ended_at,
            "is_active": c.id in going,
            "participants": sorted(p.id for p in c.participants),
            "interaction_count": counts.get(c.id, 0),
            "created_at": c.created_at,
            "updated_at": c.updated_at,
        }
        for c in conversations
    ]


def as_dict(conversation: Conversation) -> dict[str, Any]:
    return as_dicts([conversation])[0]


def event_data(conversation: Conversation) -> dict[str, Any]:
    from mira.conversations.schemas import ConversationSchema

    return ConversationSchema().dump(as_dict(conversation))


def list_conversations(network_id: uuid.UUID, limit: int, offset: int):
    query = db.select(Conversation).where(Conversation.network_id == network_id)
    rows, total = page(
        query.order_by(Conversation.started_at.desc(), Conversation.id), limit, offset
    )
    return as_dicts(rows), total


def update(network_id: uuid.UUID, conversation_id: uuid.UUID, changes: dict[str, Any]):
    conversation = get(network_id, conversation_id)
    for key in ("title", "topic_summary"):
        if key in changes:
            setattr(conversation, key, changes[key])
    db.session.flush()
    events.record(network_id, "conversation.updated", event_data(conversation))
    db.session.commit()
    return conversation


def delete(network_id: uuid.UUID, conversation_id: uuid.UUID) -> None:
    """Delete a conversation with its interactions (their ids are reported as events)."""
    conversation = db.session.scalar(
        db.select(Conversation).where(
            Conversation.network_id == network_id, Conversation.id == conversation_id
        )
    )
    if conversation is None:
        return
    doomed = db.session.execute(
        db.select(Interaction.id, Interaction.audio_key).where(
            Interaction.network_id == network_id, Interaction.conversation_id == conversation_id
        )
    ).all()
    db.session.execute(
        db.delete(Interaction).where(
            Interaction.network_id == network_id, Interaction.conversation_id == conversation_id
        )
    )
    db.session.delete(conversation)
    for interaction_id, _key in doomed:
        events.record(network_id, "interaction.deleted", {"id": str(interaction_id)})
    events.record(network_id, "conversation.deleted", {"id": str(conversation_id)})
    db.session.commit()
    from mira.interactions.services import delete_unreferenced_audio

    delete_unreferenced_audio([key for _id, key in doomed if key])
