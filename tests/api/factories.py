"""Rows for API tests.

Persons and text interactions are made through the API (as a client would); rows that have no
creation route yet (conversations, actions, jobs, voice samples) are inserted with the models.
Call these inside the `app` fixture's context.
"""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from mira.actions.models import Action
from mira.conversations.models import Conversation, conversation_participants
from mira.extensions import db
from mira.interactions.models import Interaction
from mira.jobs.models import Job
from mira.persons.models import Person, VoiceSample
from tests.audio_data import wav_bytes

T0 = datetime(2026, 1, 2, 12, 0, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def embedding(seed: int = 0) -> bytes:
    vector = np.random.default_rng(seed).standard_normal(256).astype(np.float32)
    return (vector / np.linalg.norm(vector)).astype(np.float32).tobytes()


def create_person(client, account, name: str | None = "Ada") -> dict[str, Any]:
    """A person; `name=None` makes an unknown speaker ("Person N") by clearing the name."""
    response = client.post(
        f"{account.prefix()}/persons", json={"name": name or "unknown"}, headers=account.headers
    )
    assert response.status_code == 201, response.json
    if name is None:
        response = client.patch(
            f"{account.prefix()}/persons/{response.json['id']}",
            json={"name": None},
            headers=account.headers,
        )
        assert response.status_code == 200, response.json
        assert response.json["name"] is None
    return response.json


def create_interaction(client, account, text: str = "hello", **fields) -> dict[str, Any]:
    response = client.post(
        f"{account.prefix()}/interactions", json={"text": text, **fields}, headers=account.headers
    )
    assert response.status_code == 201, response.json
    return response.json


def insert_conversation(
    network_id: str,
    started_at: datetime = T0,
    participants: list[str] = (),
    **fields,
) -> str:
    conversation = Conversation(
        network_id=uuid.UUID(network_id), started_at=started_at, is_active=True, **fields
    )
    db.session.add(conversation)
    db.session.flush()
    for person_id in participants:
        db.session.execute(
            conversation_participants.insert().values(
                conversation_id=conversation.id, person_id=uuid.UUID(person_id)
            )
        )
    db.session.commit()
    return str(conversation.id)


def insert_interaction(
    network_id: str,
    text: str = "hello",
    timestamp: datetime = T0,
    person_id: str | None = None,
    conversation_id: str | None = None,
    **fields,
) -> str:
    interaction = Interaction(
        network_id=uuid.UUID(network_id),
        text=text,
        timestamp=timestamp,
        person_id=uuid.UUID(person_id) if person_id else None,
        conversation_id=uuid.UUID(conversation_id) if conversation_id else None,
        interaction_type=fields.pop("interaction_type", "audio"),
        meta=fields.pop("meta", {}),
        **fields,
    )
    db.session.add(interaction)
    db.session.commit()
    return str(interaction.id)


def insert_voice_sample(network_id: str, person_id: str, seed: int = 0, **fields) -> str:
    """A sample plus the person's profile and count, as enrolment would leave them."""
    sample = VoiceSample(
        network_id=uuid.UUID(network_id),
        person_id=uuid.UUID(person_id),
        embedding=embedding(seed),
        description=fields.pop("description", f"sample {seed}"),
        speech_s=fields.pop("speech_s", 3.5),
        **fields,
    )
    db.session.add(sample)
    db.session.flush()
    person = db.session.get(Person, uuid.UUID(person_id))
    person.voice_sample_count = db.session.scalar(
        db.select(db.func.count())
        .select_from(VoiceSample)
        .where(VoiceSample.person_id == person.id)
    )
    person.voice_embedding = embedding(seed)
    db.session.commit()
    return str(sample.id)


def insert_action(
    network_id: str,
    action_type: str = "remind",
    status: str = "pending",
    created_at: datetime | None = None,
    **fields,
) -> str:
    action = Action(
        network_id=uuid.UUID(network_id),
        action_type=action_type,
        status=status,
        details=fields.pop("details", {"time": "17:00", "description": "call mum"}),
        **fields,
    )
    if created_at is not None:
        action.created_at = created_at
    db.session.add(action)
    db.session.commit()
    return str(action.id)


def insert_job(
    network_id: str,
    kind: str = "enroll",
    status: str = "failed",
    created_at: datetime | None = None,
    **fields,
) -> str:
    finished = status in {"succeeded", "failed", "superseded"}
    job = Job(
        network_id=uuid.UUID(network_id),
        kind=kind,
        status=status,
        stage=fields.pop("stage", "decode" if status == "failed" else None),
        progress=fields.pop("progress", 0.1 if status == "failed" else 0.0),
        attempts=fields.pop("attempts", 3 if status == "failed" else 0),
        error=fields.pop("error", "ValueError: broken audio" if status == "failed" else None),
        payload=fields.pop("payload", {}),
        timings={},
        started_at=T0 if status != "queued" else None,
        finished_at=T0 + timedelta(seconds=2) if finished else None,
        **fields,
    )
    if created_at is not None:
        job.created_at = created_at
    db.session.add(job)
    db.session.commit()
    return str(job.id)


def fresh(model, row_id: str):
    """The row as the database holds it now (not a stale object of the shared session)."""
    db.session.expire_all()
    return db.session.get(model, uuid.UUID(row_id))


def upload_utterance(client, account, headers, audio: np.ndarray) -> dict[str, Any]:
    """Upload `audio` from the microphone "kitchen" (device `headers`), wait for the analysis
    (it must finish within the wait: 200) and return its one interaction as the API shows it."""
    response = client.post(
        f"{account.prefix()}/interactions/register?wait=10",
        data={"audio": (io.BytesIO(wav_bytes(audio)), "a.wav"), "client_id": "kitchen"},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.json
    [interaction_id] = response.json["result"]["interaction_ids"]
    return client.get(
        f"{account.prefix()}/interactions/{interaction_id}", headers=account.headers
    ).json
