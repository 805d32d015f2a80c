"""Voice commands: a spoken command answered while it is worked out.

The app (dadei) already decided the utterance is meant for the assistant and posts it to
`POST {prefix}/actions/voice`. The `voice` job decodes it, finds the speech, transcribes it,
files it as a `command` interaction of its conversation, lets the assistant answer (creating
reminders, events and tasks with Mira's own services) and says each step on the job's stream
(mira.realtime.streams), which the request relays as Server-Sent Events:
`transcript`, then `tool_call`/`tool_result` for each thing done, the reply as `token`s, and
always `done` last (`error` before it when something failed). A voice command fails once,
without retries: the person asking has moved on.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from flask import current_app

from mira.extensions import db
from mira.interactions.models import Interaction
from mira.jobs import services as jobs
from mira.locks import network_lock
from mira.networks.models import Network
from mira.realtime import streams

log = logging.getLogger("mira.voice")

# What each action a command creates is, as the apps' tools. Contacts are kept as actions to
# follow up: Mira sends nothing itself, so their tools answer ok: false.
TOOLS = {"remind": "create_reminder", "schedule": "create_calendar_event", "task": "create_task"}
CONTACT_TOOLS = {
    "email": ("send_email", "Mira has no e-mail sender; kept as an action to follow up"),
    "message": ("send_message", "Mira cannot send messages; kept as an action to follow up"),
    "call": ("place_call", "Mira cannot place calls; kept as an action to follow up"),
}
INTENT_TOOLS = {"time": "get_current_time", "stop_listening": "stop_listening"}
_LEADING_WORD = re.compile(r"^\s*[\w'-]+[\s,.!?]+", re.UNICODE)


def run_voice_command(job) -> dict[str, Any]:
    app = current_app._get_current_object()

    def say(event: dict[str, Any]) -> None:
        streams.emit(app, str(job.id), event)

    try:
        result = _answer(job, say)
    except jobs.JobFailure as exc:
        say({"type": "error", "message": str(exc)})
        say({"type": "done"})
        raise
    except Exception as exc:
        log.exception("voice command %s failed", job.id)
        say({"type": "error", "message": "Something went wrong answering that"})
        say({"type": "done"})
        db.session.rollback()
        raise jobs.JobFailure("The voice command failed", "VOICE_COMMAND_FAILED") from exc
    say({"type": "done"})
    return result


def _answer(job, say) -> dict[str, Any]:
    from mira.networks.settings import wake_words
    from mira.pipeline.analysis import _transcribe
    from mira.pipeline.hearing import hear, marking

    cfg = current_app.config
    heard = hear(job, marking(job, decode=("decode", 0.1)))
    decoded, clean, speech = heard.decoded, heard.clean, heard.speech
    if not speech.has_speech:
        raise jobs.JobFailure("I heard no speech", "NO_SPEECH")
    network = db.session.get(Network, job.network_id)
    jobs.set_stage(job, "transcribe", 0.5)
    start_s, end_s = speech.segments[0].start_s, speech.segments[-1].end_s
    transcript = _transcribe(clean, start_s, end_s, wake_words(network.settings))
    text = (transcript.text if transcript is not None else None) or None
    if not text:
        raise jobs.JobFailure("I could not make out any words", "NO_WORDS")
    say({"type": "transcript", "text": text})

    jobs.set_stage(job, "assistant", 0.8)
    interaction = _file_command(job, network, text, transcript, decoded.duration_s, start_s, end_s)
    command = _command_of(text, network)
    from mira.assistant.brain import Assistant, assistant
    from mira.pipeline.reaction import react

    brain = assistant(cfg)
    if brain.llm is not None and not (interaction.meta or {}).get("assistant"):
        answered = _answer_with_gemini(brain.llm, interaction, network, command, say)
        if answered is not None:
            jobs.set_stage(job, "done", 1.0)
            reply, created = answered
            return {
                "interaction_ids": [str(interaction.id)],
                "action_ids": [str(a.id) for a in created],
                "transcript": text,
                "response": reply,
            }
        brain = Assistant()  # Gemini failed before saying or doing anything: the offline rules
    created = react(interaction, command=command, brain=brain)
    meta = interaction.meta or {}
    for event in _tool_events(meta.get("assistant") or {}, created, interaction):
        say(event)
    response = meta.get("response") or ""
    words = response.split(" ")
    for i, word in enumerate(words):
        say({"type": "token", "text": word if i == len(words) - 1 else word + " "})
    jobs.set_stage(job, "done", 1.0)
    return {
        "interaction_ids": [str(interaction.id)],
        "action_ids": [str(a.id) for a in created],
        "transcript": text,
        "response": response,
    }


def _command_of(text: str, network: Network) -> str:
    """The command in the utterance: after Mira's wake word when it is there; else the app's
    own name for the assistant ("Dadei, …") is dropped when the offline rules understand the
    rest better."""
    from mira.assistant.brain import assistant
    from mira.pipeline.reaction import command_in

    found = command_in(text, network)
    if found is not None:
        return found
    brain = assistant(current_app.config)
    if brain.engine != "offline":
        return text  # Gemini reads a vocative as one
    from datetime import UTC, datetime

    from mira.assistant.commands import answer_command

    now = datetime.now(UTC)
    candidate = text
    for _ in range(2):
        if answer_command(candidate, now, {}).intent != "unknown":
            return candidate
        shorter = _LEADING_WORD.sub("", candidate, count=1)
        if shorter == candidate or not shorter.strip():
            break
        candidate = shorter
    return candidate if answer_command(candidate, now, {}).intent != "unknown" else text


def _file_command(job, network, text, transcript, duration_s, start_s, end_s) -> Interaction:
    """The command as an interaction of its conversation (once, even if the job runs again)."""
    from mira.conversations.filing import file_interaction
    from mira.pipeline.analysis import _heard_at

    existing = db.session.scalar(db.select(Interaction).where(Interaction.job_id == job.id))
    if existing is not None:
        return existing
    payload = job.payload or {}
    with network_lock(job.network_id):
        interaction = Interaction(
            id=uuid.uuid4(),
            network_id=job.network_id,
            text=text,
            language=transcript.language,
            timestamp=_heard_at(job),
            client_id=job.client_id,
            interaction_type="command",
            duration_s=round(duration_s, 3),
            meta={
                **(payload.get("metadata") or {}),
                "transcript": {"engine": transcript.engine, "empty": transcript.is_empty},
                "source": "voice_command",
            },
            audio_key=payload.get("audio_key"),
            job_id=job.id,
            turn_index=0,
            start_s=start_s,
            end_s=end_s,
        )
        db.session.add(interaction)
        db.session.flush()
        file_interaction(interaction, network.settings)
    db.session.commit()
    return interaction


def _tool_events(outcome: dict[str, Any], created, interaction) -> list[dict[str, Any]]:
    """What the command did, as tool calls and results (never a success that did not happen)."""
    intent = outcome.get("intent")
    events: list[dict[str, Any]] = []

    def tool(name: str, ok: bool, summary: str, **extra) -> None:
        events.append({"type": "tool_call", "tool": name, "status": "running"})
        events.append({"type": "tool_result", "tool": name, "ok": ok, "summary": summary, **extra})

    for action in created:
        details = action.details or {}
        if action.action_type == "contact":
            name, reason = CONTACT_TOOLS.get(details.get("method"), CONTACT_TOOLS["message"])
            tool(name, False, reason, action_id=str(action.id))
        else:
            from mira.realtime.messages import canonical_text

            summary = canonical_text({"action_type": action.action_type, "details": details})
            tool(TOOLS[action.action_type], True, summary, action_id=str(action.id))
    if not created and intent in TOOLS:
        tool(TOOLS[intent], True, "Already noted")
    if intent in INTENT_TOOLS:
        tool(INTENT_TOOLS[intent], True, "")
    if intent == "remember":
        from mira.memories.models import Memory

        stored = db.session.scalars(
            db.select(Memory).where(
                Memory.network_id == interaction.network_id,
                Memory.source_interaction_id == interaction.id,
                Memory.status == "confirmed",
            )
        ).all()
        if stored:
            for memory in stored:
                tool("store_memory", True, memory.canonical_text, memory_id=str(memory.id))
        else:
            tool("store_memory", False, "Nothing was stored")
    if intent == "recall":
        found = outcome.get("recalled") or []
        summary = f"{len(found)} found" if found else "Nothing found"
        tool("search_memory", True, summary, memory_ids=found)
    return events


# With Gemini: a streamed answer whose tool calls Mira's services carry out ----------------------


def _answer_with_gemini(llm, interaction, network, command, say):
    """(reply, created actions), or None when Gemini failed before anything was said or done
    (the caller then answers with the offline rules)."""
    from mira.assistant.gemini import GeminiError
    from mira.assistant.gemini_voice import converse
    from mira.pipeline.reaction import network_status

    tools = VoiceTools(interaction, network, say)
    spoken: list[str] = []

    def on_text(piece: str) -> None:
        spoken.append(piece)
        say({"type": "token", "text": piece})

    try:
        reply = converse(llm, command, tools.now, network_status(network), tools.run, on_text)
    except GeminiError as exc:
        if not spoken and not tools.calls:
            log.warning("voice command: Gemini failed (%s); answering offline", exc)
            return None
        say({"type": "error", "message": "The answer was cut short"})
        reply = "".join(spoken).strip()
    tools.record(reply)
    return reply, tools.created


class VoiceTools:
    """The tools a model may call during a voice command, each run by Mira's own services, in
    its own transaction, and announced on the stream as `tool_call` then `tool_result`."""

    def __init__(self, interaction: Interaction, network: Network, say) -> None:
        from mira.networks.settings import timezone

        self.interaction, self.network, self.say = interaction, network, say
        self.zone = timezone(network.settings)
        self.now = interaction.timestamp.astimezone(self.zone)
        self.calls: list[str] = []
        self.created: list = []
        self.extracted: list = []

    def run(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(name)
        self.say({"type": "tool_call", "tool": name, "status": "running"})
        handler = getattr(self, f"_{name}", None)
        try:
            result = handler(args) if handler else {"ok": False, "reason": "Unknown tool"}
        except Exception:
            log.exception("voice tool %s failed", name)
            db.session.rollback()
            result = {"ok": False, "reason": "It failed on Mira's side"}
        event = {"type": "tool_result", "tool": name, "ok": bool(result.get("ok"))}
        event["summary"] = result.get("summary") or result.get("reason") or ""
        event.update({k: v for k, v in result.items() if k.endswith("_id") or k.endswith("_ids")})
        self.say(event)
        return result

    # Actions ---------------------------------------------------------------------------------

    def _create(self, action_type: str, details: dict[str, Any], missing: str):
        from mira.actions import services as actions
        from mira.assistant.gemini import action_from_item
        from mira.realtime.messages import canonical_text

        extracted = action_from_item({"action_type": action_type, "details": details}, self.zone)
        if extracted is None:
            return {"ok": False, "reason": missing}
        with network_lock(self.network.id):
            made = actions.create_extracted(self.interaction, [extracted])
            db.session.commit()
        self.extracted.append(extracted)
        if not made:
            return {"ok": True, "summary": "Already noted"}
        self.created.extend(made)
        action = made[0]
        summary = canonical_text({"action_type": action.action_type, "details": action.details})
        return {"ok": True, "summary": summary, "action_id": str(action.id)}

    def _create_reminder(self, args):
        details = {"description": args.get("description"), "time": args.get("time")}
        return self._create("remind", details, "A reminder needs what and when")

    def _create_calendar_event(self, args):
        keys = ("name", "start_time", "end_time", "location")
        details = {k: args[k] for k in keys if args.get(k) not in (None, "")}
        return self._create("schedule", details, "An event needs a name and a start time")

    def _create_task(self, args):
        details = {k: args[k] for k in ("description", "due") if args.get(k) not in (None, "")}
        return self._create("task", details, "A task needs a description")

    # Memories --------------------------------------------------------------------------------

    def _store_memory(self, args):
        from mira.assistant.memories import MEMORY_TYPES, ExtractedMemory
        from mira.memories import services as memories

        text = " ".join(str(args.get("text") or "").split())[:1000]
        kind = args.get("memory_type")
        if not text or kind not in MEMORY_TYPES:
            return {"ok": False, "reason": "A memory needs its text and a known type"}
        memory = ExtractedMemory(kind, text, confidence=1.0, status="confirmed")
        with network_lock(self.network.id):
            made = memories.remember(self.interaction, [memory], self.now, "gemini")
            db.session.commit()
        if not made:
            return {"ok": True, "summary": "Already remembered"}
        return {"ok": True, "summary": made[0].canonical_text, "memory_id": str(made[0].id)}

    def _search_memory(self, args):
        from mira.memories import services as memories

        found = memories.search(self.network.id, str(args.get("query") or ""), limit=5)
        return {
            "ok": True,
            "summary": f"{len(found)} found" if found else "Nothing found",
            "memories": [m.canonical_text for m in found],
            "memory_ids": [str(m.id) for m in found],
        }

    # The rest --------------------------------------------------------------------------------

    def _get_current_time(self, args):
        from mira.assistant.commands import clock_text

        now = self.now
        return {"ok": True, "summary": "", "local_time": now.isoformat(), "said": clock_text(now)}

    def _stop_listening(self, args):
        from mira.pipeline.reaction import stop_listening

        with network_lock(self.network.id):
            stop_listening(self.network)
            db.session.commit()
        return {"ok": True, "summary": "Listening is off"}

    def _send_email(self, args):
        return {"ok": False, "reason": CONTACT_TOOLS["email"][1].split(";")[0]}

    def _web_search(self, args):
        return {"ok": False, "reason": "Mira cannot search the web"}

    def record(self, reply: str) -> None:
        """The command's answer, as the offline path records it: the response and what was
        done in its metadata, the commitments as memories, and `interaction.created`."""
        from mira.assistant.memories import extract_memories
        from mira.events import services as events
        from mira.interactions.services import event_data
        from mira.memories import services as memories

        interaction = self.interaction
        with network_lock(self.network.id):
            meta = dict(interaction.meta or {})
            meta["response"] = reply
            meta["assistant"] = {
                "engine": "gemini",
                "intent": "tools" if self.calls else "answer",
                "tools": self.calls,
                "actions": len(self.created),
            }
            interaction.meta = meta
            memories.remember(
                interaction, extract_memories("", self.now, self.extracted), self.now, "gemini"
            )
            db.session.flush()
            events.record(interaction.network_id, "interaction.created", event_data(interaction))
            db.session.commit()
