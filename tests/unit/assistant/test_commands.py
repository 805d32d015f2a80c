import pytest

from mira.assistant.commands import answer_command, describe_when
from tests.unit.assistant.phrasings import WEDNESDAY_AFTERNOON, berlin

NOW = WEDNESDAY_AFTERNOON
STATUS = {"persons": 3, "clients": 2, "pending_actions": 1, "service_enabled": True}


@pytest.mark.parametrize(
    "command", ["what time is it", "What's the time?", "Mira, what time is it?", "time please"]
)
def test_time_questions_are_answered_with_the_local_clock(command):
    result = answer_command(command, berlin(2026, 3, 4, 14, 5))
    assert result.intent == "time"
    assert result.response == "It's 2:05 PM."
    assert result.actions == [] and not result.disable_service


@pytest.mark.parametrize(
    "command", ["what day is it today?", "What's the day today?", "what is the day"]
)
def test_the_date_is_answered_too(command):
    result = answer_command(command, NOW)
    assert result.intent == "time"
    assert result.response == "Today is Wednesday, March 4."


@pytest.mark.parametrize("command", ["what's the day we leave for Rome", "what is the day like"])
def test_a_question_about_another_day_is_not_the_date(command):
    assert answer_command(command, NOW).intent != "time"


def test_status_reports_the_network():
    result = answer_command("what's the status?", NOW, STATUS)
    assert result.intent == "status"
    assert "3 people" in result.response
    assert "2 clients" in result.response
    assert "1 action pending" in result.response
    assert "listening" in result.response.lower()


def test_status_without_figures_says_so_politely():
    result = answer_command("status", NOW, None)
    assert result.intent == "status"
    assert "can't" in result.response


@pytest.mark.parametrize(
    "command",
    [
        "remind me to call mom at five",
        "Set a reminder for 5 to call mom.",
        "Mira, remind me to call mom at 5",
    ],
)
def test_a_reminder_is_created_and_confirmed_in_a_sentence(command):
    result = answer_command(command, NOW)
    assert result.intent == "remind"
    assert result.response == "OK, I'll remind you to call mom at 5:00 PM."
    (action,) = result.actions
    assert action.scheduled_time == berlin(2026, 3, 4, 17)
    assert action.details == {"time": "2026-03-04T17:00:00+01:00", "description": "call mom"}


def test_a_reminder_is_repeated_back_to_the_listener():
    result = answer_command("remind me to take my pills tomorrow morning", NOW)
    assert result.response == "OK, I'll remind you to take your pills tomorrow at 9:00 AM."


def test_a_shopping_list_item_becomes_a_task():
    result = answer_command("add milk to my shopping list", NOW)
    assert result.intent == "task"
    assert result.actions[0].details == {"description": "buy milk"}
    assert "buy milk" in result.response


def test_an_event_is_scheduled_with_its_place():
    result = answer_command("schedule a meeting with Sam tomorrow at 10 at the office", NOW)
    assert result.intent == "schedule"
    assert result.actions[0].details["location"] == "the office"
    assert "tomorrow at 10:00 AM" in result.response
    assert "the office" in result.response


def test_an_event_without_a_time_is_asked_for_one():
    result = answer_command("schedule a meeting with Sam", NOW)
    assert result.intent == "schedule"
    assert result.actions == []
    assert result.response.startswith("When")


def test_a_message_keeps_the_words_to_send():
    result = answer_command("text John that I'm late", NOW)
    assert result.intent == "contact"
    assert result.actions[0].details == {"name": "John", "method": "message", "details": "I'm late"}
    # Mira sends nothing itself, and says so instead of promising it.
    assert result.response == (
        "I can't send messages myself, so I've noted it for you: message John: \"I'm late\"."
    )


def test_a_message_without_words_asks_what_to_say():
    result = answer_command("text John", NOW)
    assert result.intent == "contact"
    assert result.actions == []
    assert "John" in result.response


@pytest.mark.parametrize(
    "command",
    [
        "stop listening",
        "Stop.",
        "go to sleep",
        "be quiet",
        "Be quiet, please.",
        "Mira, stop listening",
    ],
)
def test_stop_listening_disables_the_service(command):
    result = answer_command(command, NOW)
    assert result.intent == "stop_listening"
    assert result.disable_service is True
    assert result.actions == []


@pytest.mark.parametrize("command", ["tell me a joke", "what's the weather like", "sing a song"])
def test_unknown_commands_get_a_polite_answer(command):
    result = answer_command(command, NOW)
    assert result.intent == "unknown"
    assert result.response.startswith("Sorry")
    assert not result.disable_service and result.actions == []


def test_stopping_something_else_does_not_stop_listening():
    result = answer_command("stop reminding me about the bins", NOW)
    assert not result.disable_service


def test_the_wake_word_alone_is_answered():
    result = answer_command("", NOW)
    assert result.intent == "unknown"
    assert "listening" in result.response


@pytest.mark.parametrize(
    ("moment", "said"),
    [
        (berlin(2026, 3, 4, 17), "today at 5:00 PM"),
        (berlin(2026, 3, 5, 9), "tomorrow at 9:00 AM"),
        (berlin(2026, 3, 6, 12), "on Friday at 12:00 PM"),
        (berlin(2026, 4, 1, 0, 30), "on April 1 at 12:30 AM"),
        (berlin(2027, 1, 5, 9), "on January 5, 2027 at 9:00 AM"),
    ],
)
def test_times_are_said_relative_to_today(moment, said):
    assert describe_when(moment, NOW) == said


def test_a_networks_own_wake_word_may_be_left_in_the_command():
    result = answer_command("Jarvis, what time is it?", NOW, wake_words=("jarvis",))
    assert result.intent == "time"
