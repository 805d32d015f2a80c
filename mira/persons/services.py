"""Persons of a network: the people Mira knows by voice, named or not yet."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy.exc import IntegrityError

from mira import audit
from mira.actions.models import Action
from mira.conversations.models import conversation_participants
from mira.errors import Conflict, Invalid
from mira.events import services as events
from mira.extensions import db
from mira.interactions.models import Interaction
from mira.persons import voices
from mira.persons.models import Person, VoiceSample
from mira.queries import in_network, page


def get(network_id: uuid.UUID, person_id: uuid.UUID) -> Person:
    return in_network(Person, network_id, person_id, "Person")


def _counts(person_ids: Iterable[uuid.UUID]) -> tuple[dict, dict]:
    ids = list(person_ids)
    if not ids:
        return {}, {}
    interactions = dict(
        db.session.execute(
            db.select(Interaction.person_id, db.func.count())
            .where(Interaction.person_id.in_(ids))
            .group_by(Interaction.person_id)
        ).all()
    )
    conversations = dict(
        db.session.execute(
            db.select(conversation_participants.c.person_id, db.func.count())
            .where(conversation_participants.c.person_id.in_(ids))
            .group_by(conversation_participants.c.person_id)
        ).all()
    )
    return interactions, conversations


def as_dicts(persons: list[Person], include_embedding: bool = False) -> list[dict[str, Any]]:
    interactions, conversations = _counts(p.id for p in persons)
    out = []
    for p in persons:
        item = {
            "id": p.id,
            "network_id": p.network_id,
            "name": p.name,
            "index": p.index,
            "is_enrolled": p.is_enrolled,
            "voice_sample_count": p.voice_sample_count,
            "interaction_count": interactions.get(p.id, 0),
            "conversation_count": conversations.get(p.id, 0),
            "last_heard_at": p.last_heard_at,
            "created_at": p.created_at,
            "updated_at": p.updated_at,
        }
        if include_embedding:
            public = voices.public_embedding(p.voice_embedding)  # the clean centre
            item["voice_embedding"] = base64.b64encode(public).decode() if public else None
        out.append(item)
    return out


def as_dict(person: Person, include_embedding: bool = False) -> dict[str, Any]:
    return as_dicts([person], include_embedding)[0]


def list_persons(network_id: uuid.UUID, limit: int, offset: int, include_embedding: bool):
    query = db.select(Person).where(Person.network_id == network_id).order_by(Person.index)
    rows, total = page(query, limit, offset)
    return as_dicts(rows, include_embedding), total


def all_persons(network_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every person of the network, by index, in one list: first-generation clients (their
    training dialog) know no pages. A network's persons are a household's, a handful."""
    rows = db.session.scalars(
        db.select(Person).where(Person.network_id == network_id).order_by(Person.index)
    ).all()
    return as_dicts(list(rows))


def create(network_id: uuid.UUID, name: str | None) -> Person:
    """A new person with the network's next index (retried if a concurrent insert took it)."""
    for _attempt in range(5):
        try:
            person = add_person(network_id, name)
        except IntegrityError:
            db.session.rollback()
            continue
        events.record(network_id, "person.created", event_data(person))
        db.session.commit()
        return person
    raise Conflict("Could not allocate a person index; try again", "CONFLICT")


def add_person(network_id: uuid.UUID, name: str | None) -> Person:
    """Stage a person with the network's next index (the caller commits)."""
    next_index = (
        db.session.scalar(
            db.select(db.func.max(Person.index)).where(Person.network_id == network_id)
        )
        or 0
    ) + 1
    person = Person(network_id=network_id, name=name, index=next_index, voice_sample_count=0)
    db.session.add(person)
    db.session.flush()
    return person


def event_data(person: Person) -> dict[str, Any]:
    from mira.persons.schemas import PersonSchema

    return PersonSchema().dump(as_dict(person))


def update(network_id: uuid.UUID, person_id: uuid.UUID, changes: dict[str, Any]) -> Person:
    person = get(network_id, person_id)
    if "name" in changes:
        person.name = changes["name"]
    db.session.flush()
    events.record(network_id, "person.updated", event_data(person))
    db.session.commit()
    return person


def delete(network_id: uuid.UUID, person_id: uuid.UUID) -> None:
    """Delete a person and their voice data; their interactions stay, unattributed."""
    person = db.session.scalar(
        db.select(Person).where(Person.network_id == network_id, Person.id == person_id)
    )
    if person is None:
        return
    db.session.execute(
        db.update(Interaction)
        .where(Interaction.network_id == network_id, Interaction.person_id == person_id)
        .values(person_id=None)
    )
    db.session.delete(person)
    audit.record(network_id, None, "person.deleted", person_id, _voice_summary(person))
    events.record(network_id, "person.deleted", {"id": str(person_id)})
    db.session.commit()


def merge(network_id: uuid.UUID, source_id: uuid.UUID, target_id: uuid.UUID) -> Person:
    """Move everything of `source` onto `target`, then remove `source`."""
    if source_id == target_id:
        raise Invalid("Cannot merge a person into itself", errors={"into": ["Same person."]})
    source = get(network_id, source_id)
    target = get(network_id, target_id)
    db.session.execute(
        db.update(Interaction)
        .where(Interaction.network_id == network_id, Interaction.person_id == source.id)
        .values(person_id=target.id)
    )
    db.session.execute(
        db.update(Action)
        .where(Action.network_id == network_id, Action.person_id == source.id)
        .values(person_id=target.id)
    )
    db.session.execute(
        db.update(VoiceSample)
        .where(VoiceSample.network_id == network_id, VoiceSample.person_id == source.id)
        .values(person_id=target.id)
    )
    _move_participation(source.id, target.id)
    db.session.flush()
    voices.refresh_profile(target)  # one profile from both persons' samples
    if source.last_heard_at and (
        target.last_heard_at is None or source.last_heard_at > target.last_heard_at
    ):
        target.last_heard_at = source.last_heard_at
    if target.name is None and source.name is not None:
        target.name = source.name
    db.session.delete(source)
    db.session.flush()
    audit.record(network_id, None, "persons.merged", target.id, {"merged": str(source_id)})
    events.record(
        network_id, "person.deleted", {"id": str(source_id), "merged_into": str(target_id)}
    )
    events.record(network_id, "person.updated", event_data(target))
    db.session.commit()
    return target


def _voice_summary(person: Person) -> dict[str, Any]:
    return {"index": person.index, "voice_samples": person.voice_sample_count}


def _move_participation(source_id: uuid.UUID, target_id: uuid.UUID) -> None:
    cp = conversation_participants
    already = db.select(cp.c.conversation_id).where(cp.c.person_id == target_id)
    db.session.execute(
        db.update(cp)
        .where(cp.c.person_id == source_id, cp.c.conversation_id.not_in(already))
        .values(person_id=target_id)
    )
    db.session.execute(db.delete(cp).where(cp.c.person_id == source_id))


def list_samples(network_id: uuid.UUID, person_id: uuid.UUID, limit: int, offset: int):
    get(network_id, person_id)
    query = db.select(VoiceSample).where(
        VoiceSample.network_id == network_id, VoiceSample.person_id == person_id
    )
    return page(query.order_by(VoiceSample.created_at.desc()), limit, offset)


def delete_sample(network_id: uuid.UUID, person_id: uuid.UUID, sample_id: uuid.UUID) -> None:
    person = get(network_id, person_id)
    removed = db.session.execute(
        db.delete(VoiceSample).where(
            VoiceSample.network_id == network_id,
            VoiceSample.person_id == person_id,
            VoiceSample.id == sample_id,
        )
    ).rowcount
    if removed:
        audit.record(
            network_id, None, "voice_sample.removed", sample_id, {"person": str(person_id)}
        )
    voices.refresh_profile(person)
    db.session.flush()
    events.record(network_id, "person.updated", event_data(person))
    db.session.commit()
