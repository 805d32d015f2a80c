from mira.assistant.summary import CONTEXT_MAX_CHARS, TOPIC_MAX_CHARS, summarize
from mira.assistant.types import EarlierUtterance

CONVERSATION = [
    EarlierUtterance("Anna", "Hi Ben, how was your weekend?"),
    EarlierUtterance("Ben", "Good thanks. Listen, I have a dentist appointment on Friday morning."),
    EarlierUtterance("Anna", "Oh, which dentist do you go to?"),
    EarlierUtterance("Ben", "Doctor Weber on Main Street. The dentist appointment is at nine."),
    EarlierUtterance("Anna", "Then we can move the project review to the afternoon."),
    EarlierUtterance("Ben", "Yes, the project review can wait until three."),
]


def test_no_turns_give_no_summary():
    summary = summarize([])
    assert (summary.title, summary.topic_summary, summary.context_summary) == (None, None, None)
    assert summarize([EarlierUtterance("Anna", "   ")]).title is None


def test_the_title_is_the_most_repeated_phrase():
    assert summarize(CONVERSATION).title == "Dentist appointment"


def test_the_topic_summary_is_made_of_the_conversations_own_sentences():
    topic = summarize(CONVERSATION).topic_summary
    spoken = " ".join(turn.text for turn in CONVERSATION)
    assert "dentist appointment" in topic
    assert all(sentence.strip() in spoken for sentence in topic.split(". ") if sentence)
    assert len(topic) <= TOPIC_MAX_CHARS


def test_the_context_summary_says_who_said_what_lately():
    context = summarize(CONVERSATION).context_summary
    assert context.startswith("Ben: Doctor Weber")
    assert "Anna: Then we can move the project review" in context
    assert context.endswith("Ben: Yes, the project review can wait until three.")
    assert "weekend" not in context


def test_long_turns_are_bounded():
    long_turns = [
        EarlierUtterance(f"Speaker {i}", "We talked about the garden fence " * 40) for i in range(6)
    ]
    summary = summarize(long_turns)
    assert len(summary.context_summary) <= CONTEXT_MAX_CHARS
    assert len(summary.topic_summary) <= TOPIC_MAX_CHARS
    assert summary.context_summary.endswith("…")


def test_unknown_speakers_are_named_someone():
    assert (
        summarize([EarlierUtterance(None, "Hello there.")]).context_summary
        == "Someone: Hello there."
    )


def test_the_summary_is_deterministic():
    assert summarize(CONVERSATION) == summarize(list(CONVERSATION))


def test_a_repeated_word_outranks_a_run_of_one_off_words():
    turns = [
        EarlierUtterance("A", "Beautiful sunny spring morning walks."),
        EarlierUtterance("B", "The garden needs work."),
        EarlierUtterance("A", "The garden is big, and the garden shed is old."),
    ]
    assert "Garden" in summarize(turns).title
