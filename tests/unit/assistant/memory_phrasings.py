"""Statements the offline memory rules are measured on.

Each row is an utterance as Whisper tiny.en writes it and the memories a careful listener would
keep: (memory_type, a few words of its canonical text), matched case-insensitively; an empty
list where nothing is worth remembering. Types: `plan` (an event with a time), `commitment`
(something someone will do: a reminder, a task, a message to send), `fact` (about a person),
`preference` (what someone likes or dislikes).

DEVELOPMENT rows are the ones the rules are built against (tests/unit/assistant/
test_memories.py runs every one). HELD_OUT rows were written before the rules and are never
tuned against: bench/memories.py prints precision and recall on both.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MemoryRow:
    text: str
    expected: list[tuple[str, str]] = field(default_factory=list)


DEVELOPMENT = [
    # plans
    MemoryRow("We're having dinner with the Müllers on Saturday at 7.", [("plan", "dinner")]),
    MemoryRow("Schedule a dentist appointment tomorrow at 3.", [("plan", "dentist")]),
    MemoryRow("The parent teacher meeting is on Thursday at 6 pm.", [("plan", "meeting")]),
    MemoryRow("Let's go to the cinema on Friday at 8.", [("plan", "cinema")]),
    MemoryRow("I have a doctor's appointment next Monday at 10.", [("plan", "doctor")]),
    # commitments
    MemoryRow("Remind me to call mom at five.", [("commitment", "call mom")]),
    MemoryRow("I'll pick up the kids at 4.", [("commitment", "pick up the kids")]),
    MemoryRow("Remind me to buy milk tomorrow morning.", [("commitment", "buy milk")]),
    MemoryRow("I need to renew my passport by Friday.", [("commitment", "renew my passport")]),
    MemoryRow("Text Anna that I'm running late.", [("commitment", "anna")]),
    MemoryRow("Add batteries to my shopping list.", [("commitment", "batteries")]),
    # facts about people
    MemoryRow("Anna is allergic to peanuts.", [("fact", "anna is allergic to peanuts")]),
    MemoryRow("My sister lives in Berlin.", [("fact", "sister lives in berlin")]),
    MemoryRow("Tom works at the hospital.", [("fact", "tom works at the hospital")]),
    MemoryRow("Lisa's birthday is on the 3rd of May.", [("fact", "lisa's birthday")]),
    MemoryRow("My brother is a vegetarian.", [("fact", "brother is a vegetarian")]),
    MemoryRow("Grandma's phone number is 555 1234.", [("fact", "grandma's phone number")]),
    # preferences
    MemoryRow("I love Italian food.", [("preference", "italian food")]),
    MemoryRow("I don't like horror movies.", [("preference", "horror movies")]),
    MemoryRow("My favorite color is green.", [("preference", "favorite color is green")]),
    MemoryRow("I prefer tea to coffee.", [("preference", "tea")]),
    MemoryRow("I hate waking up early.", [("preference", "waking up early")]),
    MemoryRow("Tom really likes jazz.", [("preference", "jazz")]),
    # nothing to keep
    MemoryRow("The weather was lovely at the beach today."),
    MemoryRow("What time is it?"),
    MemoryRow("Hello there."),
    MemoryRow("I think so."),
    MemoryRow("That movie was long."),
    MemoryRow("Maybe we could go out sometime."),
    MemoryRow("Did you see the game last night?"),
    MemoryRow("I like it."),
    MemoryRow("He is here."),
    MemoryRow("It is what it is."),
]

# Written before the rules; never tuned against.
HELD_OUT = [
    MemoryRow("Our anniversary dinner is on Sunday at 8 pm.", [("plan", "anniversary dinner")]),
    MemoryRow("Book a table at Luigi's for Friday at 7.", [("plan", "luigi")]),
    MemoryRow("Remind me to water the plants tonight.", [("commitment", "water the plants")]),
    MemoryRow("I'll send the invoice tomorrow.", [("commitment", "send the invoice")]),
    MemoryRow("Email the landlord about the heating.", [("commitment", "landlord")]),
    MemoryRow("Max is allergic to cats.", [("fact", "max is allergic to cats")]),
    MemoryRow("My dad lives in Hamburg.", [("fact", "dad lives in hamburg")]),
    MemoryRow("Sarah works at the bakery on Main Street.", [("fact", "sarah works at the bakery")]),
    MemoryRow("Paul's birthday is next Tuesday.", [("fact", "paul's birthday")]),
    MemoryRow("I really love hiking in the mountains.", [("preference", "hiking")]),
    MemoryRow("My favourite band is Radiohead.", [("preference", "radiohead")]),
    MemoryRow("I can't stand loud music.", [("preference", "loud music")]),
    MemoryRow("Emma prefers the window seat.", [("preference", "window seat")]),
    MemoryRow("Nice to meet you."),
    MemoryRow("Where are my keys?"),
    MemoryRow("The bus was late again."),
    MemoryRow("I like that idea."),
    MemoryRow("She is tired."),
]
