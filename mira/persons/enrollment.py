"""Enrolling a voice: a person's sample is stored and its `enroll` job committed here; the job
(`mira.pipeline.enrollment.run`) analyses it and adds it to the profile.
"""

from __future__ import annotations

import uuid

from mira import audit
from mira.jobs import services as jobs
from mira.jobs.models import Job
from mira.networks.models import Network
from mira.persons import services as persons


def accept(
    network: Network,
    person_id: uuid.UUID,
    data: bytes | None,
    description: str | None = None,
    expected_text: str | None = None,
    idempotency_key: str | None = None,
) -> Job:
    """Store the sample and commit its job before answering (like an utterance upload); a
    repeated `idempotency_key` answers with the first sample's job."""
    from mira.interactions.uploads import EXTENSIONS, check_audio, store_and_commit
    from mira.jobs import idempotency

    person = persons.get(network.id, person_id)
    fmt, _duration = check_audio(data or b"")
    idem = None
    if idempotency_key is not None:
        idem = (f"enroll:{person.id}", idempotency_key, idempotency.digest(data or b""))
        first = idempotency.find(network.id, *idem)
        if first is not None:
            return first
    job_id = uuid.uuid4()
    key = f"{network.id}/voices/{person.id}/{job_id}.{EXTENSIONS[fmt]}"
    payload = {
        "person_id": str(person.id),
        "audio_key": key,
        "format": fmt,
        "description": description,
        "expected_text": expected_text,
    }

    def create() -> Job:
        # The audit row commits with the job: a refused commit leaves neither.
        audit.record(network.id, None, "voice_sample.uploaded", person.id, {"job": str(job_id)})
        also = (idempotency.row(network.id, *idem, job_id),) if idem else ()
        return jobs.create(network.id, "enroll", payload, job_id=job_id, dispatch=False, also=also)

    return store_and_commit(key, data, create, network_id=network.id, job_id=job_id, idem=idem)
