"""Example bodies for the OpenAPI document: one household's first minutes with Mira.

Ada signs up, registers the kitchen microphone, says "Remind me to call mom at 5." and reads
what Mira made of it. The bodies were taken from a real run of that session (ids fixed), so a
newcomer reading /docs sees the shapes the server answers with; a test checks each one
against its schema, so they cannot drift from the code.
"""

from __future__ import annotations

USER_ID = "5870ffb8-df34-4e2b-af7b-9a5854ff0ebc"
NETWORK_ID = "14b2b3d9-ca07-481e-9d23-46a00cad651b"
PERSON_ID = "963decb9-c9f0-48f2-8ea3-368779f8cac9"
CONVERSATION_ID = "eb89cab4-9ac1-47d0-a5e5-f161e79fa9c5"
INTERACTION_ID = "25877ad9-18ed-4a6b-b984-aea3599c4531"
JOB_ID = "7c0f2c7b-2f32-49bd-bf23-fdfa661ae507"
ACTION_ID = "1b4c65bc-a357-4e63-bd62-94b6cd2ce4d8"
MEMORY_ID = "6aeca540-766b-4007-a566-fab136fa0cc3"
HEARD_AT = "2026-12-03T16:27:04Z"
FILED_AT = "2026-12-03T16:27:09Z"

CREDENTIALS = {"email": "ada@example.com", "password": "correct horse battery"}
TOKEN = {
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1ODcwZmZiOCJ9.c2lnbmF0dXJl",
    "refresh_token": "isLJKUbhoqngTazk0KXfAkIZrGDmtclQ9ZrLla9yDXZlVMzdQeLa9pdjvJ_7Riwp",
    "token_type": "bearer",
    "expires_in": 900,
    "user": {"id": USER_ID, "email": "ada@example.com", "is_active": True},
}
ME = {
    "id": USER_ID,
    "email": "ada@example.com",
    "has_password": True,
    "is_active": True,
    "default_network_id": NETWORK_ID,
    "created_at": "2026-12-03T16:25:40Z",
    "networks": [{"id": NETWORK_ID, "name": "ada's network", "role": "owner"}],
}
CLIENT = {
    "client_id": "kitchen-mic",
    "ip": "192.168.1.23",
    "connected_at": "2026-12-03T16:26:02Z",
    "last_seen": "2026-12-03T16:27:04Z",
    "metadata": {},
    "stream": {"score": None, "is_best": False},
}
CLIENT_REGISTERED = {"message": "Client 'kitchen-mic' registered", "client": CLIENT}
JOB_ACCEPTED = {
    "job_id": JOB_ID,
    "status": "queued",
    "status_url": f"/api/v1/{NETWORK_ID}/jobs/{JOB_ID}",
}
QUALITY = {"snr_db": 4.4812, "clarity": 36.325, "rms": 0.0972, "score": 55.098}
TRANSCRIPT = {"engine": "whisper-tiny.en", "empty": False}
JOB = {
    "id": JOB_ID,
    "kind": "analyze",
    "status": "succeeded",
    "stage": "done",
    "progress": 1.0,
    "attempts": 1,
    "error": None,
    "result": {
        "quality": QUALITY,
        "duration_s": 2.53,
        "speech_s": 2.4,
        "format": "wav",
        "interaction_ids": [INTERACTION_ID],
        "segments": [[0.06, 2.46]],
        "transcript": TRANSCRIPT,
    },
    "client_id": "kitchen-mic",
    "superseded_by": None,
    "timings": {
        "decode_ms": 1.5,
        "quality_ms": 15.5,
        "denoise_ms": 90.3,
        "vad_ms": 3.6,
        "speaker_ms": 168.3,
        "transcribe_ms": 591.7,
        "conversation_ms": 33.3,
        "assistant_ms": 12.3,
    },
    "created_at": HEARD_AT,
    "started_at": HEARD_AT,
    "finished_at": FILED_AT,
}
INTERACTION = {
    "id": INTERACTION_ID,
    "network_id": NETWORK_ID,
    "text": "Remind me to call mom at 5.",
    "timestamp": HEARD_AT,
    "person_id": PERSON_ID,
    "speaker_id": PERSON_ID,
    "conversation_id": CONVERSATION_ID,
    "client_id": "kitchen-mic",
    "interaction_type": "audio",
    "duration_s": 2.53,
    "language": "en",
    "confidence": None,
    "sentiment": None,
    "audio_quality": QUALITY,
    "metadata": {"transcript": TRANSCRIPT, "assistant": {"engine": "offline", "actions": 1}},
    "created_at": FILED_AT,
}
INTERACTION_CREATE = {
    "text": "Remind me to water the plants tomorrow at 9am",
    "person_id": PERSON_ID,
}
PERSON = {
    "id": PERSON_ID,
    "network_id": NETWORK_ID,
    "name": "Ada",
    "index": 1,
    "is_enrolled": True,
    "voice_sample_count": 1,
    "interaction_count": 1,
    "conversation_count": 1,
    "last_heard_at": HEARD_AT,
    "created_at": FILED_AT,
    "updated_at": FILED_AT,
}
PERSON_CREATE = {"name": "Ada"}
CONVERSATION = {
    "id": CONVERSATION_ID,
    "network_id": NETWORK_ID,
    "title": "Call mom",
    "topic_summary": "Remind me to call mom at 5.",
    "context_summary": "Ada: Remind me to call mom at 5.",
    "started_at": HEARD_AT,
    "ended_at": HEARD_AT,
    "is_active": True,
    "participants": [PERSON_ID],
    "interaction_count": 1,
    "created_at": FILED_AT,
    "updated_at": FILED_AT,
}
ACTION = {
    "id": ACTION_ID,
    "network_id": NETWORK_ID,
    "action_type": "remind",
    "status": "pending",
    "details": {"time": "2026-12-03T17:00:00+00:00", "description": "call mom"},
    "scheduled_time": "2026-12-03T17:00:00Z",
    "completed_time": None,
    "fired_at": None,
    "late": False,
    "person_id": PERSON_ID,
    "interaction_id": INTERACTION_ID,
    "conversation_id": CONVERSATION_ID,
    "created_at": FILED_AT,
    "updated_at": FILED_AT,
}
ACTION_PATCH = {"status": "confirmed"}
MEMORY = {
    "id": MEMORY_ID,
    "network_id": NETWORK_ID,
    "source_conversation_id": CONVERSATION_ID,
    "source_interaction_id": INTERACTION_ID,
    "memory_type": "commitment",
    "status": "proposed",
    "canonical_text": "call mom (Thu 03 Dec 17:00)",
    "action_kind": "remind",
    "participant_person_ids": [PERSON_ID],
    "proposed_start_at": "2026-12-03T17:00:00Z",
    "proposed_end_at": None,
    "expires_at": "2026-12-04T17:00:00Z",
    "confidence": 0.95,
    "provenance": {"engine": "offline", "interaction_id": INTERACTION_ID},
    "transition_history": [
        {"from": None, "to": "proposed", "at": "2026-12-03T16:27:09.347376Z", "reason": "heard"}
    ],
    "superseded_by_id": None,
    "created_at": FILED_AT,
    "updated_at": FILED_AT,
}
EVENTS = {
    "events": [
        {"id": "6", "type": "interaction.created", "data": INTERACTION, "created_at": FILED_AT},
        {"id": "7", "type": "action.created", "data": ACTION, "created_at": FILED_AT},
    ],
    "cursor": "7",
}
NETWORK = {
    "id": NETWORK_ID,
    "name": "ada's network",
    "service_enabled": True,
    "settings": {},
    "created_at": "2026-12-03T16:25:40Z",
    "updated_at": "2026-12-03T16:25:40Z",
    "role": "owner",
}
