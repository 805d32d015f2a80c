"""An offline, extractive summary of a conversation.

Without a language model the summary reuses the conversation's own words: the title is its most
salient phrase (content words weighted by how often the conversation uses them, in the spirit of
RAKE), the topic summary its most representative sentences, and the context summary a bounded
who-said-what of the latest turns. It is deterministic and linear in the text, so it can run on
every new interaction.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from math import sqrt

from mira.assistant.types import ConversationSummary, EarlierUtterance

TITLE_MAX_WORDS = 4
TOPIC_MAX_CHARS = 240
CONTEXT_TURNS = 3
CONTEXT_TURN_MAX_CHARS = 90
CONTEXT_MAX_CHARS = 300

_STOPWORD_TEXT = """
    a about above after again against all almost also although always am an and any anyone
    anything are aren't around as at away back be because been before being below between both
    but by can can't cannot could couldn't did didn't do does doesn't doing don't done down during
    each else even ever every few first for from further get gets getting go goes going gone gonna
    good got gotta great had hadn't has hasn't have haven't having he he'd he'll he's hello her
    here here's hers herself hey hi him himself his how how's i i'd i'll i'm i've if in into is
    isn't it it's its itself just know last later let let's like lot lots made make many may maybe
    me might mine mira more most much must my myself need needs never new next no nor not nothing
    now of off oh ok okay on once one only or other ought our ours ourselves out over own pretty
    probably quite rather really right said same say says see shall she she'd she'll she's should
    shouldn't so some something soon sorry still such sure take tell than thank thanks that that's
    the their theirs them themselves then there there's these they they'd they'll they're they've
    thing things think this those though through to today tomorrow tonight too two under until up
    upon us very want wanna was wasn't way we we'd we'll we're we've well went were weren't what
    what's when when's where where's whether which while who who's whom why why's will with won't
    would wouldn't yeah yes yet you you'd you'll you're you've your yours yourself yourselves um uh
    erm hmm mm okay alright actually anyway kind sort bit stuff yep nope gonna time
    """
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")


def _words(text: str) -> list[str]:
    return [w.lower().strip("'-") for w in _WORD.findall(text)]


def _is_content(word: str) -> bool:
    return len(word) > 2 and word not in _STOPWORDS


def _clip(text: str, limit: int) -> str:
    """`text` cut at a word boundary to at most `limit` characters, with an ellipsis if cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


def _weights(turns: Sequence[EarlierUtterance]) -> Counter[str]:
    return Counter(w for turn in turns for w in _words(turn.text) if _is_content(w))


def _salience(count: int) -> float:
    """Words said once count half: a long run of one-off words must not outrank a repeated one."""
    return float(count) if count > 1 else 0.5


def _title(turns: Sequence[EarlierUtterance], weights: Counter[str]) -> str | None:
    """The best run of content words (at most TITLE_MAX_WORDS), as first spoken."""
    best: tuple[float, int, str] | None = None
    position = 0
    for turn in turns:
        for sentence in _SENTENCE.findall(turn.text):
            run: list[str] = []
            for raw in [*_WORD.findall(sentence), ""]:
                word = raw.lower().strip("'-")
                if raw and _is_content(word):
                    run.append(raw.strip("'-"))
                    continue
                for size in range(min(len(run), TITLE_MAX_WORDS), 0, -1):
                    for start in range(len(run) - size + 1):
                        window = run[start : start + size]
                        score = sum(_salience(weights[w.lower()]) for w in window)
                        position += 1
                        candidate = (score, -position, " ".join(window))
                        if best is None or candidate[:2] > best[:2]:
                            best = candidate
                run = []
    if best is None:
        return None
    title = best[2]
    return title[:1].upper() + title[1:]


def _topic(turns: Sequence[EarlierUtterance], weights: Counter[str]) -> str | None:
    """The one or two sentences that best carry the conversation's frequent words, in order."""
    sentences: list[tuple[float, int, str]] = []
    for turn in turns:
        for sentence in _SENTENCE.findall(turn.text):
            sentence = " ".join(sentence.split())
            content = [w for w in _words(sentence) if _is_content(w)]
            if not content:
                continue
            score = sum(weights[w] for w in content) / sqrt(len(content))
            sentences.append((score, len(sentences), sentence))
    if not sentences:
        texts = [turn.text.strip() for turn in turns if turn.text.strip()]
        return _clip(texts[0], TOPIC_MAX_CHARS) if texts else None
    ranked = sorted(sentences, key=lambda s: (-s[0], s[1]))
    chosen = [ranked[0]]
    if len(ranked) > 1 and len(ranked[0][2]) + len(ranked[1][2]) + 1 <= TOPIC_MAX_CHARS:
        chosen.append(ranked[1])
    text = " ".join(s[2] for s in sorted(chosen, key=lambda s: s[1]))
    return _clip(text, TOPIC_MAX_CHARS)


def _context(turns: Sequence[EarlierUtterance]) -> str | None:
    """Who said what lately: the last CONTEXT_TURNS turns, each and all of bounded length."""
    spoken = [turn for turn in turns if turn.text.strip()][-CONTEXT_TURNS:]
    if not spoken:
        return None
    lines = [
        f"{turn.speaker or 'Someone'}: {_clip(turn.text, CONTEXT_TURN_MAX_CHARS)}"
        for turn in spoken
    ]
    return _clip(" / ".join(lines), CONTEXT_MAX_CHARS)


def summarize(turns: Sequence[EarlierUtterance]) -> ConversationSummary:
    """Title, topic summary and context summary of `turns` (oldest first), all from their words."""
    spoken = [turn for turn in turns if turn.text and turn.text.strip()]
    if not spoken:
        return ConversationSummary(title=None, topic_summary=None, context_summary=None)
    weights = _weights(spoken)
    return ConversationSummary(
        title=_title(spoken, weights),
        topic_summary=_topic(spoken, weights),
        context_summary=_context(spoken),
    )
