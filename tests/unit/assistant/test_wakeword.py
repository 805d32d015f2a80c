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
