"""The assistant's part of the pipeline: commands after the wake word, commitments → actions,
conversation summaries.

`react` runs once per interaction (the `assistant` entry in its metadata marks it done, in the
same transaction as what it created), so a job that runs twice acts once.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from mira.actions import services as actions
from mira.actions.models import Action
from mira.clients.models import Client
from mira.conversations import filing
from mira.conversations.models import Conversation
from mira.events import services as events
from mira.extensions import db
from mira.interactions.models import Interaction
from mira.locks import network_lock
from mira.memories import services as memories
from mira.networks import settings as network_settings
from mira.networks.models import Network
from mira.persons.models import Person


def _assistant():
    from mira.assistant.brain import assistant

    return assistant(current_app.config)


def command_in(text: str | None, network: Network) -> str | None:
    """The command after the wake word (or a sound-alike of it followed by a command the
    assistant understands), or None when the utterance is not addressed to Mira."""
    if not text:
        return None
    from mira.assistant.wakeword import judge

    decision = judge(text, network_settings.wake_words(network.settings))
    return decision.command if decision.is_command else None


def wake_decision(transcript, network: Network):
    """Whether a transcribed turn was addressed to Mira: its words and, when the engine heard
    it, the acoustic evidence (`mira.assistant.wakeword.judge`; bench/wake.py measures the same
    call)."""
    from mira.assistant.wakeword import NO_WAKE, judge

    if transcript is None:
        return NO_WAKE
    words = network_settings.wake_words(network.settings)
    return judge(transcript.text, words, getattr(transcript, "wake", None))


def network_status(network: Network) -> dict[str, Any]:
    def count(model, *where):
        return db.session.scalar(
            db.select(db.func.count())
            .select_from(model)
            .where(model.network_id == network.id, *where)
        )

    return {
        "network": network.name,
        "service_enabled": network.service_enabled,
        "persons": count(Person),
        "clients": count(Client),
        "pending_actions": count(Action, Action.status == "pending"),
    }


def react(
    interaction: Interaction,
    on_request: bool = False,
    command: str | None = None,
    brain=None,
) -> list[Action]:
    """Answer a command or extract commitments and refresh the conversation summary. Commits.

    The assistant thinks first, holding no lock (it may wait seconds for Gemini); what it
    decided is then written under the network lock, like every other change to a network's
    conversations, so two workers never deadlock or create the same action twice.

    From the pipeline (default) it runs once per interaction: the `assistant` entry it writes
    into the metadata marks it done, in the same transaction as the actions it created and the
    `interaction.created` event it records. On request (the `inference` job) it runs again
    without announcing the interaction; duplicates of open actions are still not created.
    """
    if (interaction.meta or {}).get("assistant") and not on_request:
        return []
    network = db.session.get(Network, interaction.network_id)
    brain = brain or _assistant()
    now = interaction.timestamp.astimezone(network_settings.timezone(network.settings))
    answer = found = summary = None
    remembered: list = []
    recalled: list[str] = []
    if interaction.interaction_type == "command":
        # A voice command names its command itself: the app decided it was one. A wake word
        # heard acoustically left the command its second decode heard in `metadata.wake`.
        wake = (interaction.meta or {}).get("wake") or {}
        if command is None and wake.get("status") == "wake":
            command = wake.get("command")
        command = command if command is not None else command_in(interaction.text, network) or ""
        answer = brain.answer_command(command, now, network_status(network))
        remembered = brain.extract_memories("", now, answer.actions)
        if answer.remember:
            from mira.assistant.memories import asked_to_remember

            remembered.append(asked_to_remember(answer.remember))
        if answer.recall is not None:
            answer, recalled = _recall(network, answer)
    elif interaction.text:
        context = []
        if interaction.conversation_id is not None:
            context = filing.recent_turns(
                interaction.conversation_id, interaction.network_id, before=interaction, limit=6
            )
        found = brain.extract_actions(interaction.text, now, context)
        remembered = brain.extract_memories(interaction.text, now, found)
    # Summaries follow what is heard; typed notes and re-runs leave them as they are.
    refresh = interaction.conversation_id is not None and not on_request
    if refresh:
        summary = filing.summarize(interaction.conversation_id, interaction.network_id, brain)
    db.session.commit()  # end the reading transaction before taking the lock
    with network_lock(network.id):
        created = _record_reaction(
            interaction, network, brain, answer, found, summary, on_request, recalled
        )
        memories.remember(interaction, remembered, now, brain.engine)
        return created


def _recall(network: Network, answer):
    """Answer a memory question from the network's memories (the `search_memory` tool)."""
    from dataclasses import replace

    from mira.assistant.commands import recall_answer

    found = memories.search(network.id, answer.recall)
    response = recall_answer(answer.recall, [m.canonical_text for m in found])
    return replace(answer, response=response), [str(m.id) for m in found]


def stop_listening(network: Network) -> None:
    """ "Mira, stop listening": listening off, announced once; the caller commits."""
    if network.service_enabled:
        network.service_enabled = False
        events.record(network.id, "service.status", {"service_enabled": False})


def _record_reaction(interaction, network, brain, answer, found, summary, on_request, recalled):
    from mira.interactions.services import event_data

    meta = dict(interaction.meta or {})
    if meta.get("assistant") and not on_request:
        return []  # a concurrent run of the same job recorded it first
    outcome: dict[str, Any] = {"engine": brain.engine}
    created: list[Action] = []
    if answer is not None:
        meta["response"] = answer.response
        outcome["intent"] = answer.intent
        if answer.recall is not None:
            outcome["recalled"] = recalled
        created = actions.create_extracted(interaction, answer.actions)
        if answer.disable_service:
            stop_listening(network)
    elif found is not None:
        created = actions.create_extracted(interaction, found)
    outcome["actions"] = len(created)
    if not on_request:
        meta["assistant"] = outcome
    interaction.meta = meta
    if not on_request and interaction.conversation_id is not None:
        conversation = db.session.get(Conversation, interaction.conversation_id)
        if conversation is not None:
            filing.apply_summary(conversation, summary)
    db.session.flush()
    if not on_request:
        events.record(interaction.network_id, "interaction.created", event_data(interaction))
        wake = meta.get("wake") or {}
        if wake.get("status") == "candidate":
            # Close to the wake word but not sure: the client may ask "Did you mean me?".
            events.record(
                interaction.network_id,
                "interaction.wake_candidate",
                {**event_data(interaction), "wake": wake},
            )
    return created


def react_job(job) -> dict[str, Any]:
    """The job of kind `inference` (its API contract name): `react` to one interaction of the
    job's network, on request."""
    import uuid

    from mira.jobs.services import JobFailure

    try:
        interaction_id = uuid.UUID(str((job.payload or {})["interaction_id"]))
    except (KeyError, ValueError) as exc:
        raise JobFailure("The job names no interaction", "BAD_JOB") from exc
    interaction = db.session.scalar(
        db.select(Interaction).where(
            Interaction.network_id == job.network_id, Interaction.id == interaction_id
        )
    )
    if interaction is None:
        raise JobFailure("The interaction no longer exists", "NOT_FOUND")
    from mira.jobs import services as jobs

    jobs.set_stage(job, "assistant", 0.5)
    created = react(interaction, on_request=True)
    jobs.set_stage(job, "done", 1.0)
    return {
        "interaction_ids": [str(interaction.id)],
        "action_ids": [str(a.id) for a in created],
    }
