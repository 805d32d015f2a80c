"""Mira's Gemini client: transcription, action extraction, commands and summaries.

Every call is one `generateContent` request with structured output (a JSON schema and
`application/json`), checked again here before anything reaches the caller: the model's answer
is data from outside, so malformed items are dropped and malformed answers raise `GeminiError`.
Callers catch `GeminiError` and fall back to the offline rules.

Wake-word commands heard by the pipeline use structured output with an `intent`: nobody watches
their answer being written, the facts a tool would fetch (the time, the network's status) fit in
the prompt, and one schema-constrained request is faster than a function-calling round trip.
Voice commands, whose answer the app shows as it streams and which may need to look things up
(search_memory), use streaming with function calling instead: mira.assistant.gemini_voice.

Time budget: `timeout_s` bounds the whole call, retries included. Each HTTP attempt has the same
timeout, the SDK retries only fast failures (408, 429, 5xx, connection errors) with short
back-off, and a watchdog gives up at the deadline even if the transport never answers (an
unreachable API otherwise hangs on retries).

google-genai is imported on first use: `from_settings` without a key costs nothing, and the web
process never loads the SDK.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import threading
import wave
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from mira.assistant.types import (
    ACTION_TYPES,
    CommandResult,
    ConversationSummary,
    EarlierUtterance,
    ExtractedAction,
)
from mira.speech import SAMPLE_RATE, Segment, Transcript

if TYPE_CHECKING:
    from google.genai import types

    from mira.assistant.memories import ExtractedMemory

logger = logging.getLogger(__name__)

# The current stable Flash model of the Gemini API (fast, multimodal, structured output).
DEFAULT_MODEL = "gemini-3.8-flash"
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_RETRIES = 2

# Back-off between attempts: short, because the whole call has to fit in `timeout_s`.
RETRY_INITIAL_DELAY_S = 0.25
RETRY_MAX_DELAY_S = 1.0
RETRY_JITTER_S = 0.1
RETRY_HTTP_STATUS_CODES = (408, 429, 500, 502, 503, 504)
# The watchdog waits this much longer than `timeout_s`, so that the HTTP client's own timeout
# (same value) normally reports first.
DEADLINE_GRACE_S = 0.25

# A generateContent request carries at most 20 MB inline; 16 kHz PCM16 WAV is 32 kB/s and grows
# by a third in base64, so about 7 minutes fit. Longer audio goes to the offline engines.
MAX_INLINE_AUDIO_S = 420.0

INTENTS = (
    "time",
    "status",
    "remind",
    "schedule",
    "task",
    "contact",
    "stop_listening",
    "unknown",
)
ACTION_INTENTS = frozenset(ACTION_TYPES)
CONTACT_METHODS = ("email", "message", "call")
# An event said without its end ("meeting at three") lasts an hour.
DEFAULT_EVENT_DURATION = timedelta(hours=1)
# Summaries look at the most recent turns only; older ones are already in context_summary.
MAX_SUMMARY_TURNS = 200
MAX_RESPONSE_CHARS = 600
MAX_DETAIL_CHARS = 500
MAX_TITLE_CHARS = 120

_NULLABLE_STRING = {"anyOf": [{"type": "string"}, {"type": "null"}]}
_LOCAL_TIME = {
    "type": "string",
    "description": "ISO 8601 local time with the household's UTC offset",
}

ACTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "action_type": {"type": "string", "enum": list(ACTION_TYPES)},
        "details": {
            "type": "object",
            "description": "remind: description, time; schedule: name, start_time, end_time, "
            "location; contact: name, method, details; task: description, due",
            "properties": {
                "description": {"type": "string"},
                "time": _LOCAL_TIME,
                "name": {"type": "string"},
                "start_time": _LOCAL_TIME,
                "end_time": _LOCAL_TIME,
                "location": {"type": "string"},
                "method": {"type": "string", "enum": list(CONTACT_METHODS)},
                "details": {"type": "string"},
                "due": _LOCAL_TIME,
            },
        },
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["action_type", "details", "confidence"],
}

TRANSCRIPT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "text": {"type": "string"},
        "language": _NULLABLE_STRING,
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["text", "language", "confidence"],
}

EXTRACT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"actions": {"type": "array", "items": ACTION_SCHEMA}},
    "required": ["actions"],
}

COMMAND_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "intent": {"type": "string", "enum": list(INTENTS)},
        "response": {"type": "string"},
        "actions": {"type": "array", "items": ACTION_SCHEMA},
    },
    "required": ["intent", "response", "actions"],
}

MEMORY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "memories": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "memory_type": {"type": "string", "enum": ["fact", "preference", "plan"]},
                    "canonical_text": {"type": "string"},
                    "proposed_start_at": _NULLABLE_STRING,
                    "confidence": {"type": "number"},
                },
                "required": ["memory_type", "canonical_text"],
            },
        }
    },
    "required": ["memories"],
}
SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": _NULLABLE_STRING,
        "topic_summary": _NULLABLE_STRING,
        "context_summary": _NULLABLE_STRING,
    },
    "required": ["title", "topic_summary", "context_summary"],
}

_T = TypeVar("_T")


class GeminiError(RuntimeError):
    """Gemini could not give a usable answer in time; the caller falls back to offline rules."""


@cache
def system_prompt(name: str) -> str:
    """The system instruction `name` (transcribe, extract, command, summarize)."""
    return (resources.files("mira.assistant") / "prompts" / f"{name}.md").read_text("utf-8")


class GeminiClient:
    """The Gemini API behind Mira's shapes, with a hard time budget per call."""

    def __init__(
        self,
        api_key: str,
        model: str = DEFAULT_MODEL,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_options: types.HttpOptions | None = None,
    ) -> None:
        if not api_key or not api_key.strip():
            raise ValueError("GeminiClient needs an API key")
        if not model:
            raise ValueError("GeminiClient needs a model name")
        if not timeout_s > 0:
            raise ValueError("timeout_s must be positive")
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        from google import genai
        from google.genai import types

        self.model = model
        self.timeout_s = float(timeout_s)
        self.max_retries = int(max_retries)
        self._api_key = api_key.strip()
        self._types = types
        self._temperature = _temperature_for(model)
        options = types.HttpOptions(
            timeout=max(1, math.ceil(self.timeout_s * 1000)),  # milliseconds, per attempt
            retry_options=types.HttpRetryOptions(
                attempts=self.max_retries + 1,
                initial_delay=RETRY_INITIAL_DELAY_S,
                max_delay=RETRY_MAX_DELAY_S,
                exp_base=2.0,
                jitter=RETRY_JITTER_S,
                http_status_codes=list(RETRY_HTTP_STATUS_CODES),
            ),
        )
        if http_options is not None:
            overrides = {
                name: getattr(http_options, name)
                for name in type(http_options).model_fields
                if getattr(http_options, name) is not None
            }
            options = options.model_copy(update=overrides)
        # vertexai=False: the key is a Gemini API key whatever GOOGLE_GENAI_USE_VERTEXAI says.
        self._client = genai.Client(api_key=self._api_key, vertexai=False, http_options=options)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> GeminiClient | None:
        """The configured client, or None when GEMINI_API_KEY is unset (offline rules only)."""
        api_key = str(settings.get("GEMINI_API_KEY") or "").strip()
        if not api_key:
            return None
        model = str(settings.get("MIRA_GEMINI_MODEL") or "").strip() or DEFAULT_MODEL
        timeout = settings.get("MIRA_GEMINI_TIMEOUT_S")
        timeout_s = DEFAULT_TIMEOUT_S if timeout in (None, "") else float(timeout)
        return cls(api_key=api_key, model=model, timeout_s=timeout_s)

    def __repr__(self) -> str:
        return f"GeminiClient(model={self.model!r}, timeout_s={self.timeout_s:g})"

    # -- public operations ---------------------------------------------------------------------

    def transcribe(self, samples: np.ndarray) -> Transcript:
        """Transcribe 16 kHz mono float32 speech; sent inline as 16-bit WAV."""
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"expected mono samples, got an array of shape {samples.shape}")
        if samples.size == 0:
            return Transcript(text="", engine="gemini")
        duration_s = samples.size / SAMPLE_RATE
        if duration_s > MAX_INLINE_AUDIO_S:
            raise GeminiError(
                f"{duration_s:.0f} s of audio is too long for one Gemini request "
                f"(at most {MAX_INLINE_AUDIO_S:.0f} s)"
            )
        types = self._types
        parts = [
            types.Part.from_bytes(data=wav_bytes(samples), mime_type="audio/wav"),
            types.Part.from_text(text="Transcribe this recording."),
        ]
        answer = self._generate_json("transcribe", parts, TRANSCRIPT_SCHEMA)
        return transcript_from_answer(answer, duration_s)

    def extract_actions(
        self, text: str, now: datetime, context: Sequence[EarlierUtterance] = ()
    ) -> list[ExtractedAction]:
        """Clear commitments in `text`; times come back in the zone of `now` (naive = UTC)."""
        if not text.strip():
            return []
        now = _aware(now)
        lines = _clock_lines(now)
        if context:
            lines.append("Earlier turns (oldest first):")
            lines.extend(_turn_line(turn, now.tzinfo) for turn in context)
        else:
            lines.append("Earlier turns: none")
        lines += ["Utterance to analyse:", text.strip()]
        answer = self._generate_json("extract", [self._text_part(lines)], EXTRACT_SCHEMA)
        if not isinstance(answer, dict) or not isinstance(answer.get("actions"), list):
            raise GeminiError("Gemini's answer has no list of actions")
        return actions_from_answer(answer["actions"], now.tzinfo)

    def answer_command(
        self, command: str, now: datetime, status: Mapping[str, Any] | None = None
    ) -> CommandResult:
        """What Mira says and does for "Mira, <command>"; stop_listening disables the service."""
        now = _aware(now)
        status_text = "unknown" if status is None else json.dumps(dict(status), default=str)
        lines = [*_clock_lines(now), f"Network status: {status_text}", "Command:", command.strip()]
        answer = self._generate_json("command", [self._text_part(lines)], COMMAND_SCHEMA)
        return command_from_answer(answer, now.tzinfo)

    def extract_memories(
        self, text: str, now: datetime, actions: Sequence[ExtractedAction] = ()
    ) -> list[ExtractedMemory]:
        """Facts, preferences and plans in `text`; the commitments already found (`actions`)
        become memories the same way as offline, so plans match their actions."""
        from mira.assistant.memories import from_action

        found = [from_action(action) for action in actions]
        if not text.strip():
            return found
        now = _aware(now)
        lines = [*_clock_lines(now), "Utterance:", text.strip()]
        answer = self._generate_json("memories", [self._text_part(lines)], MEMORY_SCHEMA)
        if not isinstance(answer, dict) or not isinstance(answer.get("memories"), list):
            raise GeminiError("Gemini's answer has no list of memories")
        return found + memories_from_answer(answer["memories"], now)

    def summarize(self, turns: Sequence[EarlierUtterance]) -> ConversationSummary:
        """Title and summaries of a conversation; nothing to summarise gives empty fields."""
        spoken = [turn for turn in turns if turn.text and turn.text.strip()]
        if not spoken:
            return ConversationSummary(title=None, topic_summary=None, context_summary=None)
        recent = spoken[-MAX_SUMMARY_TURNS:]
        lines = ["Conversation turns (oldest first):"]
        lines.extend(_turn_line(turn, None, with_date=True) for turn in recent)
        answer = self._generate_json("summarize", [self._text_part(lines)], SUMMARY_SCHEMA)
        return summary_from_answer(answer)

    # -- the request ---------------------------------------------------------------------------

    def _text_part(self, lines: Sequence[str]) -> types.Part:
        return self._types.Part.from_text(text="\n".join(lines))

    def _generate_json(self, prompt: str, parts: list[types.Part], schema: dict[str, Any]) -> Any:
        """One structured-output request; the decoded JSON of the first candidate."""
        types = self._types
        config = types.GenerateContentConfig(
            system_instruction=system_prompt(prompt),
            response_mime_type="application/json",
            response_json_schema=schema,
            temperature=self._temperature,
        )
        response = self._within_deadline(
            lambda: self._client.models.generate_content(
                model=self.model, contents=parts, config=config
            )
        )
        return json_from_response(response)

    def _within_deadline(self, request: Callable[[], _T]) -> _T:
        """Run `request` in a helper thread and stop waiting at the deadline.

        The HTTP timeout bounds each socket operation, not a server that trickles bytes or a
        transport that never returns, and retries multiply it; the deadline is what callers
        can rely on. A request abandoned here ends on its own HTTP timeout.
        """
        outcome: dict[str, Any] = {}
        finished = threading.Event()

        def run() -> None:
            try:
                outcome["value"] = request()
            except BaseException as exc:
                outcome["error"] = exc
            finally:
                finished.set()

        threading.Thread(target=run, name="mira-gemini", daemon=True).start()
        if not finished.wait(self.timeout_s + DEADLINE_GRACE_S):
            message = f"Gemini did not answer within {self.timeout_s:g} s"
            logger.warning("Gemini call failed: %s", message)
            raise GeminiError(message)
        if "error" in outcome:
            message = self._scrub(describe_failure(outcome["error"]))
            logger.warning("Gemini call failed: %s", message)
            raise GeminiError(message) from None
        return outcome["value"]

    def _scrub(self, message: str) -> str:
        return message.replace(self._api_key, "***")


# -- answers into Mira's shapes (pure functions) -----------------------------------------------


def describe_failure(exc: BaseException) -> str:
    """A short message for a failed request, without the SDK's dump of the response body."""
    from google.genai import errors

    if isinstance(exc, errors.APIError):
        detail = f"Gemini answered HTTP {exc.code}"
        if exc.status:
            detail += f" {exc.status}"
        if isinstance(exc.message, str) and exc.message:
            detail += f": {_shorten(exc.message, 160)}"
        return detail
    # The SDK's HTTP backend is httpx2 or httpx; both name their exceptions alike.
    ancestry = {cls.__name__ for cls in type(exc).__mro__}
    if "TimeoutException" in ancestry:
        return "Gemini timed out"
    if "TransportError" in ancestry or "HTTPError" in ancestry:
        return f"Gemini is unreachable ({type(exc).__name__})"
    return f"Gemini sent an unreadable response ({type(exc).__name__})"


def json_from_response(response: Any) -> Any:
    """The JSON answer of a GenerateContentResponse; blocked, cut or empty answers raise."""
    feedback = getattr(response, "prompt_feedback", None)
    block_reason = getattr(feedback, "block_reason", None)
    if block_reason:
        raise GeminiError(f"Gemini blocked the request ({_enum_name(block_reason)})")
    candidates = getattr(response, "candidates", None) or []
    if not candidates:
        raise GeminiError("Gemini returned no answer")
    candidate = candidates[0]
    finish = _enum_name(candidate.finish_reason) if candidate.finish_reason else "STOP"
    if finish != "STOP":
        raise GeminiError(f"Gemini stopped before a complete answer ({finish})")
    content = candidate.content
    parts = (content.parts if content is not None else None) or []
    text = "".join(part.text for part in parts if part.text and not part.thought).strip()
    if not text:
        raise GeminiError("Gemini returned an empty answer")
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, flags=re.DOTALL)
    if fenced:
        text = fenced.group(1)
    try:
        return json.loads(text)
    except ValueError:
        raise GeminiError("Gemini's answer is not JSON") from None


def transcript_from_answer(answer: Any, duration_s: float) -> Transcript:
    """{text, language, confidence} into a Transcript; `text` must be a string."""
    if not isinstance(answer, dict) or not isinstance(answer.get("text"), str):
        raise GeminiError("Gemini's transcript has no text")
    text = " ".join(answer["text"].split())
    language = answer.get("language")
    if isinstance(language, str) and 0 < len(language.strip()) <= 16:
        language = language.strip().lower()
    else:
        language = None
    confidence = _number(answer.get("confidence"))
    if confidence is not None and not 0.0 <= confidence <= 1.0:
        confidence = None
    segments = [Segment(start_s=0.0, end_s=round(duration_s, 3), text=text)] if text else []
    return Transcript(
        text=text,
        language=language if text else None,
        confidence=confidence,
        segments=segments,
        engine="gemini",
    )


def actions_from_answer(items: Sequence[Any], zone: tzinfo | None) -> list[ExtractedAction]:
    """The well-formed actions of a list; malformed items, unknown types and bad times drop out."""
    actions: list[ExtractedAction] = []
    seen: set[str] = set()
    for item in items:
        action = action_from_item(item, zone or UTC)
        if action is None:
            logger.info("Dropped a malformed action from Gemini: %.200r", item)
            continue
        key = json.dumps([action.action_type, action.details], sort_keys=True)
        if key not in seen:
            seen.add(key)
            actions.append(action)
    return actions


def action_from_item(item: Any, zone: tzinfo) -> ExtractedAction | None:
    """One action with details as API.md defines them per type, or None when malformed."""
    if not isinstance(item, dict) or not isinstance(item.get("details"), dict):
        return None
    action_type = item.get("action_type")
    raw = item["details"]
    confidence = _number(item.get("confidence"))
    confidence = 1.0 if confidence is None else min(1.0, max(0.0, confidence))
    details: dict[str, Any]
    when: datetime | None
    if action_type == "remind":
        description, when = _text(raw.get("description")), _local_time(raw.get("time"), zone)
        if description is None or when is None:
            return None
        details = {"time": _iso(when), "description": description}
    elif action_type == "schedule":
        name, when = _text(raw.get("name")), _local_time(raw.get("start_time"), zone)
        if name is None or when is None:
            return None
        end = when + DEFAULT_EVENT_DURATION
        if raw.get("end_time") not in (None, ""):
            end = _local_time(raw.get("end_time"), zone)
            if end is None or end < when:
                return None
        details = {"start_time": _iso(when), "end_time": _iso(end), "name": name}
        location = _text(raw.get("location"))
        if location is not None:
            details["location"] = location
    elif action_type == "contact":
        name = _text(raw.get("name"))
        method = raw.get("method").strip().lower() if isinstance(raw.get("method"), str) else None
        message = raw.get("details", "")
        if name is None or method not in CONTACT_METHODS or not isinstance(message, str):
            return None
        details = {"name": name, "method": method, "details": _shorten(message.strip())}
        when = None
    elif action_type == "task":
        description, when = _text(raw.get("description")), None
        if description is None:
            return None
        details = {"description": description}
        if raw.get("due") not in (None, ""):
            when = _local_time(raw.get("due"), zone)
            if when is None:
                return None
            details["due"] = _iso(when)
    else:
        return None
    return ExtractedAction(
        action_type=action_type, details=details, scheduled_time=when, confidence=confidence
    )


def command_from_answer(answer: Any, zone: tzinfo | None) -> CommandResult:
    """{intent, response, actions} into a CommandResult.

    An action intent whose action did not survive validation is an error rather than a reply
    that promises something Mira will not do; the offline rules get their chance instead.
    """
    if not isinstance(answer, dict):
        raise GeminiError("Gemini's command answer is not an object")
    intent, response = answer.get("intent"), answer.get("response")
    if intent not in INTENTS:
        raise GeminiError("Gemini's command answer has no known intent")
    if not isinstance(response, str) or not response.strip():
        raise GeminiError("Gemini's command answer has no response")
    items = answer.get("actions", [])
    if not isinstance(items, list):
        raise GeminiError("Gemini's command actions are not a list")
    actions: list[ExtractedAction] = []
    if intent in ACTION_INTENTS:
        actions = [a for a in actions_from_answer(items, zone) if a.action_type == intent]
        if not actions:
            raise GeminiError(f"Gemini's {intent} command carries no usable action")
    return CommandResult(
        intent=intent,
        response=_shorten(" ".join(response.split()), MAX_RESPONSE_CHARS),
        actions=actions,
        disable_service=intent == "stop_listening",
    )


def memories_from_answer(items: Sequence[Any], now: datetime) -> list[ExtractedMemory]:
    """The well-formed memories of a list; commitments (the action extractor's) and plans
    without a usable time drop out."""
    from mira.assistant.memories import ExtractedMemory

    memories: list[ExtractedMemory] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        kind, text = item.get("memory_type"), _text(item.get("canonical_text"))
        if kind not in ("fact", "preference", "plan") or text is None:
            continue
        confidence = _number(item.get("confidence"))
        confidence = 0.8 if confidence is None else min(1.0, max(0.0, confidence))
        if kind == "plan":
            start = _local_time(item.get("proposed_start_at"), now.tzinfo or UTC)
            if start is None:
                continue
            end = start + DEFAULT_EVENT_DURATION
            memories.append(ExtractedMemory("plan", text, None, start, end, end, confidence))
        else:
            memories.append(ExtractedMemory(kind, _shorten(text), confidence=confidence))
    return memories


def summary_from_answer(answer: Any) -> ConversationSummary:
    """{title, topic_summary, context_summary}: each a string or null."""
    if not isinstance(answer, dict):
        raise GeminiError("Gemini's summary is not an object")
    fields: dict[str, str | None] = {}
    for name in ("title", "topic_summary", "context_summary"):
        value = answer.get(name)
        if value is None:
            fields[name] = None
        elif isinstance(value, str):
            fields[name] = " ".join(value.split()) or None
        else:
            raise GeminiError(f"Gemini's summary has a malformed {name}")
    if fields["title"]:
        fields["title"] = _shorten(fields["title"].rstrip("."), MAX_TITLE_CHARS)
    return ConversationSummary(**fields)


def wav_bytes(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Mono float samples as 16-bit PCM WAV (half the bytes of float32, the same words)."""
    clean = np.clip(np.nan_to_num(np.asarray(samples, dtype=np.float32)), -1.0, 1.0)
    pcm = np.round(clean * 32767.0).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


# -- helpers -----------------------------------------------------------------------------------


def _temperature_for(model: str) -> float | None:
    """0 for Gemini 1.x/2.x (steadier JSON); Gemini 3 and later are tuned for their default."""
    match = re.search(r"gemini-(\d+)", model)
    if match and int(match.group(1)) < 3:
        return 0.0
    return None


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _zone_name(now: datetime) -> str:
    return getattr(now.tzinfo, "key", None) or now.tzname() or "UTC"


def _clock_lines(now: datetime) -> list[str]:
    return [
        f"Current local time: {_iso(now)} ({now.strftime('%A')})",
        f"Time zone: {_zone_name(now)}",
    ]


def _turn_line(turn: EarlierUtterance, zone: tzinfo | None, with_date: bool = False) -> str:
    speaker = turn.speaker or "Unknown speaker"
    text = " ".join(turn.text.split())
    if turn.timestamp is None:
        return f"- {speaker}: {text}"
    stamp = _aware(turn.timestamp)
    if zone is not None:
        stamp = stamp.astimezone(zone)
    shown = stamp.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")
    return f"- [{shown}] {speaker}: {text}"


def _local_time(value: Any, zone: tzinfo) -> datetime | None:
    """An ISO 8601 time in `zone`; a time without offset is read as the household's wall time."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=zone)
    return moment.astimezone(zone)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    cleaned = " ".join(value.split())
    return _shorten(cleaned) if cleaned else None


def _shorten(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _enum_name(value: Any) -> str:
    return str(getattr(value, "value", value))
