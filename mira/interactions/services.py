"""Interactions: what was said (or typed) in a network, by whom, when."""

from __future__ import annotations

import uuid
from typing import Any

from mira.conversations.models import Conversation
from mira.events import services as events
from mira.extensions import db
from mira.interactions.models import Interaction
from mira.persons.models import Person
from mira.queries import in_network, page
from mira.types import utcnow


def get(network_id: uuid.UUID, interaction_id: uuid.UUID) -> Interaction:
    return in_network(Interaction, network_id, interaction_id, "Interaction")


def event_data(interaction: Interaction) -> dict[str, Any]:
    """The interaction as events carry it. Events are copied to every poller and socket and
    kept for the feed's lifetime, so `metadata` is held to MIRA_EVENT_METADATA_BYTES: its
    smallest keys are kept (what Mira writes, such as `response`, `wake`, `speaker`, which the
    apps read from the socket) and larger ones are left out and named in `metadata_omitted`
    (GET /interactions/{id} has them)."""
    from flask import current_app

    from mira.input_bounds import json_size
    from mira.interactions.schemas import InteractionSchema

    data = InteractionSchema().dump(interaction)
    metadata = data.get("metadata")
    budget = current_app.config.get("MIRA_EVENT_METADATA_BYTES", 4096)
    if isinstance(metadata, dict) and metadata and json_size(metadata) > budget:
        sizes = sorted((json_size({key: value}), key) for key, value in metadata.items())
        kept: set[str] = set()
        for size, key in sizes:
            if size > budget:
                break
            budget -= size
            kept.add(key)
        data["metadata"] = {key: value for key, value in metadata.items() if key in kept}
        data["metadata_omitted"] = [key for key in metadata if key not in kept]
    return data


def _filtered(network_id: uuid.UUID, filters: dict[str, Any]):
    query = db.select(Interaction).where(Interaction.network_id == network_id)
    if filters.get("person_id"):
        query = query.where(Interaction.person_id == filters["person_id"])
    conversation_ids = list(filters.get("conversation_ids") or [])
    if filters.get("conversation_id"):
        conversation_ids.append(filters["conversation_id"])
    if conversation_ids and filters.get("orphans_only"):
        # Both given: those conversations plus the interactions outside any conversation.
        query = query.where(
            Interaction.conversation_id.in_(conversation_ids)
            | Interaction.conversation_id.is_(None)
        )
    elif conversation_ids:
        query = query.where(Interaction.conversation_id.in_(conversation_ids))
    elif filters.get("orphans_only"):
        query = query.where(Interaction.conversation_id.is_(None))
    if filters.get("since"):
        query = query.where(Interaction.timestamp >= filters["since"])
    if filters.get("until"):
        query = query.where(Interaction.timestamp <= filters["until"])
    if filters.get("q"):
        escaped = filters["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Interaction.text.ilike(f"%{escaped}%", escape="\\"))
    return query


def list_interactions(
    network_id: uuid.UUID,
    filters: dict[str, Any],
    limit: int,
    offset: int,
    oldest_first: bool = False,
):
    order = (
        (Interaction.timestamp, Interaction.id)
        if oldest_first
        else (Interaction.timestamp.desc(), Interaction.id.desc())
    )
    return page(_filtered(network_id, filters).order_by(*order), limit, offset)


def _check_refs(network_id: uuid.UUID, person_id, conversation_id) -> None:
    """Referenced persons and conversations must belong to the same network."""
    if person_id is not None:
        in_network(Person, network_id, person_id, "Person")
    if conversation_id is not None:
        in_network(Conversation, network_id, conversation_id, "Conversation")


def create_text(network_id: uuid.UUID, body: dict[str, Any]) -> Interaction:
    person_id = body.get("person_id")
    conversation_id = body.get("conversation_id")
    _check_refs(network_id, person_id, conversation_id)
    interaction = Interaction(
        network_id=network_id,
        text=body.get("text") or body.get("content"),
        person_id=person_id,
        conversation_id=conversation_id,
        interaction_type=body["interaction_type"],
        meta=body.get("metadata") or {},
        timestamp=body.get("timestamp") or utcnow(),
    )
    db.session.add(interaction)
    db.session.flush()
    if interaction.conversation_id is not None:
        # Typed interactions go where the client puts them (spoken ones are filed by time).
        from mira.conversations.filing import file_interaction

        file_interaction(interaction, None)
    events.record(network_id, "interaction.created", event_data(interaction))
    db.session.commit()
    if interaction.text and interaction.interaction_type == "text":
        # Commitments in typed text are found like spoken ones, off the request path.
        request_reaction(network_id, interaction.id)
    return interaction


def request_reaction(network_id: uuid.UUID, interaction_id: uuid.UUID):
    """Queue the assistant's reaction to one interaction of the network: a job of kind
    `inference` (the API contract's name), run by `pipeline.reaction.react_job`."""
    from mira.jobs import services as jobs

    interaction = get(network_id, interaction_id)
    return jobs.create(network_id, "inference", {"interaction_id": str(interaction.id)})


def update(network_id: uuid.UUID, interaction_id: uuid.UUID, changes: dict[str, Any]):
    interaction = get(network_id, interaction_id)
    _check_refs(network_id, changes.get("person_id"), changes.get("conversation_id"))
    previous_person = interaction.person_id
    for key in ("text", "person_id", "conversation_id"):
        if key in changes:
            setattr(interaction, key, changes[key])
    if "person_id" in changes and changes["person_id"] != previous_person:
        from mira.persons import voices

        # A speaker correction: the utterance's voice moves to the right profile.
        voices.move_utterance_voice(interaction.id, previous_person, changes["person_id"])
    if "metadata" in changes:
        interaction.meta = {**(interaction.meta or {}), **changes["metadata"]}
    db.session.flush()
    events.record(network_id, "interaction.updated", event_data(interaction))
    db.session.commit()
    return interaction


def delete(network_id: uuid.UUID, interaction_id: uuid.UUID) -> None:
    audio_key = db.session.scalar(
        db.select(Interaction.audio_key).where(
            Interaction.network_id == network_id, Interaction.id == interaction_id
        )
    )
    deleted = db.session.execute(
        db.delete(Interaction).where(
            Interaction.network_id == network_id, Interaction.id == interaction_id
        )
    ).rowcount
    if deleted:
        events.record(network_id, "interaction.deleted", {"id": str(interaction_id)})
    db.session.commit()
    if audio_key:
        delete_unreferenced_audio([audio_key])


def delete_unreferenced_audio(keys: list[str]) -> None:
    """Remove stored uploads no interaction uses any more, unless retention keeps them
    (`MIRA_DELETE_AUDIO=false`). Runs after the commit: a failed delete leaves an orphan blob,
    never a row pointing at nothing."""
    from flask import current_app

    from mira.storage import blob_store

    if not keys or not current_app.config["MIRA_DELETE_AUDIO"]:
        return
    still_used = set(
        db.session.scalars(db.select(Interaction.audio_key).where(Interaction.audio_key.in_(keys)))
    )
    store = blob_store()
    for key in set(keys) - still_used:
        try:
            store.delete(key)
        except Exception:  # storage hiccup: the purge command catches orphans later
            current_app.logger.warning("could not delete audio %s", key, exc_info=True)
