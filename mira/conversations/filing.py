"""File interactions into conversations, and keep each conversation's summary current.

A new interaction joins the conversation of the interaction just before it (in time, within its
network) unless the gap between them exceeds the network's conversation gap — or the shorter
speaker-change gap when a different person speaks. Filing runs inside the caller's transaction
under the network lock, so two workers never open two conversations for one exchange.
"""

from __future__ import annotations

import uuid
from typing import Any

from mira.conversations.models import Conversation
from mira.conversations.services import event_data
from mira.events import services as events
from mira.extensions import db
from mira.interactions.models import Interaction
from mira.networks import settings as network_settings
from mira.persons.models import Person

SUMMARY_TURNS = 12  # the latest turns a summary is built from


def _previous(interaction: Interaction) -> Interaction | None:
    return db.session.scalar(
        db.select(Interaction)
        .where(
            Interaction.network_id == interaction.network_id,
            Interaction.id != interaction.id,
            Interaction.conversation_id.is_not(None),
            Interaction.timestamp <= interaction.timestamp,
        )
        .order_by(Interaction.timestamp.desc(), Interaction.created_at.desc())
        .limit(1)
    )


def starts_new_conversation(
    previous: Interaction | None, interaction: Interaction, gap_s: float, change_gap_s: float
) -> bool:
    if previous is None:
        return True
    gap = (interaction.timestamp - previous.timestamp).total_seconds()
    speakers_differ = (
        previous.person_id is not None
        and interaction.person_id is not None
        and previous.person_id != interaction.person_id
    )
    return gap > (change_gap_s if speakers_differ else gap_s)


def file_interaction(interaction: Interaction, settings: dict[str, Any] | None) -> Conversation:
    """Give `interaction` its conversation (creating one when the gap rules say so)."""
    if interaction.conversation_id is not None:
        conversation = db.session.get(Conversation, interaction.conversation_id)
    else:
        gap_s, change_gap_s = network_settings.conversation_gaps(settings)
        previous = _previous(interaction)
        if starts_new_conversation(previous, interaction, gap_s, change_gap_s):
            conversation = _open(interaction)
        else:
            conversation = db.session.get(Conversation, previous.conversation_id)
        interaction.conversation_id = conversation.id
    _extend(conversation, interaction)
    db.session.flush()
    return conversation


def _open(interaction: Interaction) -> Conversation:
    # Only the newest conversation of a network is active.
    db.session.execute(
        db.update(Conversation)
        .where(Conversation.network_id == interaction.network_id, Conversation.is_active)
        .values(is_active=False)
    )
    conversation = Conversation(
        id=uuid.uuid4(),
        network_id=interaction.network_id,
        started_at=interaction.timestamp,
        ended_at=interaction.timestamp,
        is_active=True,
    )
    db.session.add(conversation)
    db.session.flush()
    return conversation


def _extend(conversation: Conversation, interaction: Interaction) -> None:
    if interaction.timestamp < conversation.started_at:
        conversation.started_at = interaction.timestamp
    if conversation.ended_at is None or interaction.timestamp > conversation.ended_at:
        conversation.ended_at = interaction.timestamp
    if interaction.person_id is not None and all(
        p.id != interaction.person_id for p in conversation.participants
    ):
        person = db.session.get(Person, interaction.person_id)
        if person is not None and person.network_id == conversation.network_id:
            conversation.participants.append(person)


def recent_turns(
    conversation_id: uuid.UUID,
    network_id: uuid.UUID,
    before: Interaction | None = None,
    limit: int = SUMMARY_TURNS,
):
    """The latest turns of a conversation (oldest first) as assistant context."""
    from mira.assistant.types import EarlierUtterance

    query = db.select(Interaction, Person.name, Person.index).outerjoin(
        Person, Person.id == Interaction.person_id
    )
    query = query.where(
        Interaction.network_id == network_id,
        Interaction.conversation_id == conversation_id,
        Interaction.text.is_not(None),
    )
    if before is not None:
        query = query.where(Interaction.id != before.id, Interaction.timestamp <= before.timestamp)
    rows = db.session.execute(
        query.order_by(Interaction.timestamp.desc(), Interaction.created_at.desc()).limit(limit)
    ).all()
    turns = []
    for interaction, name, index in reversed(rows):
        speaker = name or (f"Person {index}" if index is not None else None)
        turns.append(
            EarlierUtterance(
                speaker=speaker, text=interaction.text, timestamp=interaction.timestamp
            )
        )
    return turns


def summarize(conversation_id: uuid.UUID, network_id: uuid.UUID, assistant):
    """A fresh summary of the conversation's latest turns (reads only; may ask Gemini), or None
    when it has no words yet."""
    turns = recent_turns(conversation_id, network_id)
    return assistant.summarize(turns) if turns else None


def apply_summary(conversation: Conversation, summary) -> None:
    """Store a summary and announce the conversation. The title is given once (when empty) so
    a conversation keeps the name clients show, and a title a user set is never replaced."""
    if summary is not None:
        if not conversation.title:
            conversation.title = summary.title
        conversation.topic_summary = summary.topic_summary
        conversation.context_summary = summary.context_summary
    db.session.flush()
    events.record(conversation.network_id, "conversation.updated", event_data(conversation))
