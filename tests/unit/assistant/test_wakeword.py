import pytest

from mira.assistant.wakeword import WakeMatch, find_wake_word


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("Mira, what time is it?", "what time is it?"),
        ("mira what time is it", "what time is it"),
        ("Hey Mira turn off the lights.", "turn off the lights."),
        ("Hey, Mira. Stop listening.", "Stop listening."),
        ("OK Mira", ""),
        ("Mira?", ""),
        ("MIRA... remind me to call mom at 5", "remind me to call mom at 5"),
        ("Um, hey Mira, what's the time?", "what's the time?"),
        ("Mira - set a reminder for 5", "set a reminder for 5"),
    ],
)
def test_wake_word_at_the_start_gives_the_rest_as_command(text, command):
    assert find_wake_word(text) == WakeMatch(word="mira", command=command)


@pytest.mark.parametrize(
    "text",
    [
        "I am here",
        "a bus stop",
        "I stop",
        "The admiral said hi",
        "admiral",
        "Miranda, come here",
        "Mirabelle plums are in season",
        "I told Mira yesterday",
        "So I told Mira about it",
        "Hey there Mira how are you",
        "Mira's battery is low",
        "",
        "   ",
    ],
)
def test_no_wake_word_unless_mira_opens_the_utterance_as_a_whole_word(text):
    assert find_wake_word(text) is None


def test_multi_word_wake_words_match_across_punctuation():
    match = find_wake_word("Hey, computer: lights on", wake_words=("hey computer",))
    assert match == WakeMatch(word="hey computer", command="lights on")
    assert find_wake_word("computer lights on", wake_words=("hey computer",)) is None


def test_a_network_may_configure_several_wake_words():
    words = ("mira", "jarvis")
    assert find_wake_word("Jarvis, what time is it", words).word == "jarvis"
    assert find_wake_word("Mira, what time is it", words).word == "mira"
    assert find_wake_word("Alexa, what time is it", words) is None


# --------------------------------------------------------------------------- judge


from mira.assistant.wakeword import judge, sounds_like  # noqa: E402
from mira.speech import WakeEvidence  # noqa: E402


@pytest.mark.parametrize(
    ("text", "heard", "command"),
    [
        ("Mirror, what time is it?", "Mirror", "what time is it?"),
        ("Meera stop listening", "Meera", "stop listening"),
        ("Myra, remind me to call mom at five", "Myra", "remind me to call mom at five"),
        ("Hey Mia, what's the date today?", "Mia", "what's the date today?"),
        ("Mirah, how many people are here?", "Mirah", "how many people are here?"),
    ],
)
def test_a_sound_alike_opening_a_command_is_the_wake_word(text, heard, command):
    decision = judge(text, ["mira"])
    assert (decision.status, decision.heard, decision.command) == ("wake", heard, command)
    assert decision.reason == "sound-alike"
    assert decision.as_meta()["heard"] == heard


@pytest.mark.parametrize(
    "text",
    [
        "Miranda called this morning.",
        "Miranda, what time is it?",
        "The admiral is here.",
        "admiral, what time is it",
        "Mirror on the wall",
        "I looked in the mirror, what time is it?",
        "Mira is coming to dinner tonight.",
        "Myra and I went to the market.",
        "Remind me to water the plants tomorrow morning.",
        "I am here",
    ],
)
def test_near_misses_are_no_command(text):
    assert judge(text, ["mira"]).status != "wake"


@pytest.mark.parametrize(
    "text",
    [
        "Mira and milk to my shopping list.",
        "Mira, and eggs to the shopping list",
        "mirror and milk to my shopping list",
    ],
)
def test_add_written_as_and_after_the_name_is_still_a_command(text):
    """Whisper writes "Mira, add milk…" as "Mira and milk…": read as "add", a known command."""
    decision = judge(text, ["mira"])
    assert decision.status == "wake"
    assert decision.command.startswith("add ")


@pytest.mark.parametrize(
    "text",
    [
        "Mira and John are coming at five.",
        "Mira and I went to the shop and bought milk.",
        "Mirror and glass are on the table.",
    ],
)
def test_the_name_as_a_sentences_subject_stays_talk(text):
    assert judge(text, ["mira"]).status == "none"


def test_a_vocative_sound_alike_before_no_known_command_is_only_a_candidate():
    assert judge("Mirror, mirror on the wall.", ["mira"]).status == "candidate"
    assert judge("Mirror on the wall.", ["mira"]).status == "none"


def test_a_bare_stop_listening_is_never_silent():
    decision = judge("Stop listening.", ["mira"])
    assert decision.status == "candidate"
    assert decision.command == "Stop listening."
    assert decision.as_meta()["reason"] == "stop without wake word"


def test_sounds_like_keeps_longer_names_apart():
    assert sounds_like("Meera", "mira") and sounds_like("Mirror", "mira")
    assert not sounds_like("Miranda", "mira") and not sounds_like("admiral", "mira")
    assert not sounds_like("Mira", "mira")  # that is the word itself


def test_the_networks_own_wake_words_keep_working_with_their_sound_alikes():
    words = ["jarvis"]
    assert judge("Jarvis, what time is it?", words).status == "wake"
    assert judge("Jarvus, what time is it?", words).status == "wake"
    assert judge("Mira, what time is it?", words).status == "none"
    assert judge("Hey computer, stop listening", ["hey computer"]).command == "stop listening"


def test_acoustic_evidence_decides_when_the_transcript_lost_the_wake_word():
    said = "what time is it"
    sure = judge(said, ["mira"], WakeEvidence("mira", 0.4, "what time is it?"))
    assert (sure.status, sure.reason, sure.command) == ("wake", "acoustic", "what time is it?")
    close = judge(said, ["mira"], WakeEvidence("mira", 0.05, "what time is it?"))
    assert close.status == "candidate" and close.as_meta()["probability"] == 0.05
    assert judge(said, ["mira"], WakeEvidence("mira", 0.001)).status == "none"
    # A likely wake word before words the assistant does not understand is only a candidate.
    assert judge("on the wall", ["mira"], WakeEvidence("mira", 0.4, "on the wall")).status == (
        "candidate"
    )


def test_the_name_said_twice_before_no_known_command_is_only_a_candidate():
    """Hot-worded with the name, Whisper writes "Mirror, mirror on the wall" as "Mira, Mira on
    the wall" (bench/wake.py: 18 of its 18 false triggers); a real call said twice over before a
    command stays a command."""
    rhyme = judge("mira, mira on the wall", ["mira"])
    assert (rhyme.status, rhyme.reason) == ("candidate", "name repeated")
    assert judge("Mira, Mira in the world", ["mira"]).status == "candidate"
    assert judge("Mira, mirror around all", ["mira"]).status == "candidate"
    twice = judge("Mira, Mira, what time is it?", ["mira"])
    assert twice.status == "wake" and twice.reason == "exact"
    assert judge("Mira, tell me a joke", ["mira"]).status == "wake"


def test_the_wake_word_heard_phonetically_decides_when_whisper_dropped_it():
    said = "How many people are here?"
    heard = WakeEvidence("mira", 0.003, None, phonetic="mira")
    decision = judge(said, ["mira"], heard)
    assert (decision.status, decision.reason, decision.command) == ("wake", "phonetic", said)
    # The constrained decode's words are preferred when it ran and understood.
    second = WakeEvidence("mira", 0.01, "Mira, what time is it?", phonetic="mira")
    assert judge("They're at time is it", ["mira"], second).command == "Mira, what time is it?"
    # Before words the assistant does not understand it is only a candidate.
    assert judge("on the wall", ["mira"], WakeEvidence("mira", 0.0, None, "mira")).status == (
        "candidate"
    )
    # PocketSphinx preferring Whisper's words, or a rival name, adds nothing.
    for phonetic in ("", "miranda", None):
        evidence = WakeEvidence("mira", 0.003, None, phonetic=phonetic)
        assert judge(said, ["mira"], evidence).status == "none"


def test_whispers_evidence_needs_less_when_pocketsphinx_hears_no_rival():
    said = "How many people are there?"
    command = "Mira, how many people are there?"
    unopposed = WakeEvidence("mira", 0.04, command, phonetic="")
    assert judge(said, ["mira"], unopposed).status == "wake"
    # "Miranda called": Whisper's second decode wrote "Mira, I'm going to call…"
    for phonetic in ("miranda", None):  # a rival heard, or PocketSphinx not asked
        evidence = WakeEvidence("mira", 0.04, command, phonetic=phonetic)
        assert judge(said, ["mira"], evidence).status == "candidate"
    assert judge(said, ["mira"], WakeEvidence("mira", 0.02, command, phonetic="")).status == (
        "none"
    )


@pytest.mark.parametrize(
    "text, asked",
    [
        ("How many people are here?", True),  # understood as it is
        ("here are text John that I am running late", True),  # "Mira" written as two words
        ("Hey, here are text John that I am running late", True),  # after a lead-in
        ("You're a schedule a meeting with Anna on Friday at 3", True),
        ("Thanks John that I am running late", False),  # the command lost its verb
        ("I went to the shop this morning", False),
        ("here are", False),
        ("", False),
    ],
)
def test_the_phonetic_spotter_is_asked_when_the_name_may_hide_in_the_first_words(text, asked):
    from mira.assistant.wakeword import understood_after_opening

    assert understood_after_opening(text, ["mira"]) is asked


class _Engine:
    """A transcriber whose first and second looks say what the test tells them."""

    def __init__(self, first: str, closer: str | None):
        from mira.speech import Transcript

        self.first = Transcript(first, engine="whisper-tiny.en")
        self.closer = None if closer is None else Transcript(closer, engine="whisper-base")
        self.looked = 0

    def transcribe_between(self, samples, start_s, end_s, hotwords):
        return self.first

    def look_again_between(self, samples, start_s, end_s, hotwords, first):
        assert first is self.first
        self.looked += 1
        return self.closer


@pytest.mark.parametrize(
    "first, closer, looked, heard, status",
    [
        # The name lost in the first words: the bigger model's command wins.
        ("There are how many people are here", "Mira, how many people are here?", 1, 1, "wake"),
        # Up to three opening words, and "and" for "add" as after the name.
        ("here are the text John that I am late", "Mira, text John that I am late", 1, 1, "wake"),
        ("and milk to my shopping list.", "Mira, add milk to my shopping list.", 1, 1, "wake"),
        # A first word that rhymes with the name, as Whisper writes it lost, with nothing
        # understood after it.
        ("there are so many people out here", "Mira how many people are here?", 1, 1, "wake"),
        ("Hey, where are my keys?", "Hey, where are my keys?", 1, 0, "none"),
        # ... but not when it too hears no name.
        ("There are how many people are here", "There are many people here", 1, 0, "none"),
        # The name before a command the assistant does not understand: only an understood
        # command replaces it.
        ("Mira, their green mind me took", "Mira, remind me to call mom at five", 1, 1, "wake"),
        ("Mira, their green mind me took", "Mira, their dream mind", 1, 0, "wake"),
        # A known command, or ordinary talk: no second look at all.
        ("Mira, what time is it?", "Mira, what's the date?", 0, 0, "wake"),
        ("I went to the shop this morning", "Mira, what time is it?", 0, 0, "none"),
        # No bigger model: the first decision stands.
        ("There are how many people are here", None, 1, 0, "none"),
    ],
)
def test_a_bigger_model_looks_again_when_the_wake_word_may_be_lost(
    first, closer, looked, heard, status
):
    from mira.assistant.wakeword import hear

    engine = _Engine(first, closer)
    transcript, decision = hear(engine, None, 0.0, 3.0, ["mira"])
    assert engine.looked == looked
    assert transcript is (engine.closer if heard else engine.first)
    assert decision.status == status
    assert decision.second_look is bool(heard)
    assert ("second_look" in decision.as_meta()) is bool(heard)


def test_an_engine_without_a_second_look_is_heard_once():
    from mira.assistant.wakeword import hear
    from mira.speech import Transcript

    class Plain:
        def transcribe_between(self, samples, start_s, end_s, hotwords):
            return Transcript("There are how many people are here")

    transcript, decision = hear(Plain(), None, 0.0, 3.0, ["mira"])
    assert decision.status == "none" and not decision.second_look


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Their green mind made took all the moments", True),
        ("There is milk in the fridge.", True),
        ("Hey, where are my keys?", True),  # after a lead-in
        ("They remind me to call a moment five", False),
        ("Remind me to call mom at five", False),
        ("Hey", False),
        ("", False),
    ],
)
def test_an_opening_tiny_en_writes_for_the_lost_name(text, expected):
    from mira.assistant.wakeword import opens_like_a_lost_name

    assert opens_like_a_lost_name(text, ["mira"]) is expected
    assert opens_like_a_lost_name(text, ["computer"]) is False
