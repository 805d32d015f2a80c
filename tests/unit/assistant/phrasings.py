"""Phrasings the offline extractor is measured on.

Each row is an utterance as Whisper tiny.en writes it (digits, varying punctuation and case), the
moment it was said (Europe/Berlin), and what a careful listener would file: the action type (None
for no commitment), the resolved time (None when no time was said) and a few key details, matched
case-insensitively.

DEVELOPMENT rows are the ones the rules are built against; tests/unit/assistant/test_extract.py
runs every one. HELD_OUT rows were written before the rules and are never tuned against: they
measure how well the rules generalise (bench/extract.py prints both figures).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Berlin (the offset follows the date, so DST is respected)."""
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


# Moments the rows are said at.
WEDNESDAY_AFTERNOON = berlin(2026, 3, 4, 14, 0)  # Wednesday, CET (+01:00)
FRIDAY_MORNING = berlin(2026, 3, 6, 8, 30)  # Friday
EVE_OF_SPRING_DST = berlin(2026, 3, 28, 20, 0)  # Saturday; clocks go forward that night
EVE_OF_AUTUMN_DST = berlin(2026, 10, 24, 21, 0)  # Saturday; clocks go back that night
YEAR_END = berlin(2026, 12, 30, 10, 0)  # Wednesday, days before a new year


@dataclass(frozen=True)
class Phrasing:
    text: str
    now: datetime
    action_type: str | None
    when: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)


W = WEDNESDAY_AFTERNOON

DEVELOPMENT: list[Phrasing] = [
    # remind
    Phrasing(
        "remind me to call mom at five",
        W,
        "remind",
        berlin(2026, 3, 4, 17),
        {"description": "call mom"},
    ),
    Phrasing(
        "Remind me to call mom at 5.",
        W,
        "remind",
        berlin(2026, 3, 4, 17),
        {"description": "call mom"},
    ),
    Phrasing(
        "remind me at 5:30 to pick up the kids",
        W,
        "remind",
        berlin(2026, 3, 4, 17, 30),
        {"description": "pick up the kids"},
    ),
    Phrasing(
        "Remind me to take out the trash at 730.",
        W,
        "remind",
        berlin(2026, 3, 4, 19, 30),
        {"description": "take out the trash"},
    ),
    Phrasing(
        "remind me in 20 minutes to check the oven",
        W,
        "remind",
        berlin(2026, 3, 4, 14, 20),
        {"description": "check the oven"},
    ),
    Phrasing(
        "Remind me in 10 minutes to check the oven.",
        W,
        "remind",
        berlin(2026, 3, 4, 14, 10),
        {"description": "check the oven"},
    ),
    Phrasing(
        "remind me in an hour to stretch",
        W,
        "remind",
        berlin(2026, 3, 4, 15),
        {"description": "stretch"},
    ),
    Phrasing(
        "remind me in two hours to move the car",
        W,
        "remind",
        berlin(2026, 3, 4, 16),
        {"description": "move the car"},
    ),
    Phrasing(
        "Set a reminder for 5 to call mom.",
        W,
        "remind",
        berlin(2026, 3, 4, 17),
        {"description": "call mom"},
    ),
    Phrasing(
        "remind me tomorrow morning to pay the rent",
        W,
        "remind",
        berlin(2026, 3, 5, 9),
        {"description": "pay the rent"},
    ),
    Phrasing(
        "Remind me at noon tomorrow to book the flights.",
        W,
        "remind",
        berlin(2026, 3, 5, 12),
        {"description": "book the flights"},
    ),
    Phrasing(
        "remind me to water the plants tonight",
        W,
        "remind",
        berlin(2026, 3, 4, 20),
        {"description": "water the plants"},
    ),
    Phrasing(
        "Hey, remind me to buy flowers on Friday.",
        W,
        "remind",
        berlin(2026, 3, 6, 9),
        {"description": "buy flowers"},
    ),
    Phrasing(
        "remind me at half past six to start dinner",
        W,
        "remind",
        berlin(2026, 3, 4, 18, 30),
        {"description": "start dinner"},
    ),
    Phrasing(
        "remind me at quarter to nine to lock the door",
        W,
        "remind",
        berlin(2026, 3, 4, 20, 45),
        {"description": "lock the door"},
    ),
    Phrasing(
        "Remind me on March 10th to renew the passport.",
        W,
        "remind",
        berlin(2026, 3, 10, 9),
        {"description": "renew the passport"},
    ),
    Phrasing(
        "remind me at 5pm to call the bank",
        W,
        "remind",
        berlin(2026, 3, 4, 17),
        {"description": "call the bank"},
    ),
    Phrasing("remind me to call the bank", W, "remind", None, {"description": "call the bank"}),
    Phrasing(
        "Remind me at 17:00 to call Dad.",
        W,
        "remind",
        berlin(2026, 3, 4, 17),
        {"description": "call dad"},
    ),
    Phrasing(
        "remind me at 5 p.m. to call dad",
        W,
        "remind",
        berlin(2026, 3, 4, 17),
        {"description": "call dad"},
    ),
    Phrasing(
        "Remind me at five thirty to feed the dog.",
        W,
        "remind",
        berlin(2026, 3, 4, 17, 30),
        {"description": "feed the dog"},
    ),
    Phrasing(
        "remind me at 9 to call the plumber",
        FRIDAY_MORNING,
        "remind",
        berlin(2026, 3, 6, 9),
        {"description": "call the plumber"},
    ),
    Phrasing(
        "Remind me at 8 to leave.",
        FRIDAY_MORNING,
        "remind",
        berlin(2026, 3, 6, 20),
        {"description": "leave"},
    ),
    Phrasing(
        "remind me tomorrow at 10 to call dad",
        EVE_OF_SPRING_DST,
        "remind",
        berlin(2026, 3, 29, 10),
        {"description": "call dad"},
    ),
    Phrasing(
        "Remind me in 8 hours to feed the cat.",
        EVE_OF_SPRING_DST,
        "remind",
        berlin(2026, 3, 29, 5),
        {"description": "feed the cat"},
    ),
    Phrasing(
        "Remind me tomorrow morning to put the clocks back.",
        EVE_OF_AUTUMN_DST,
        "remind",
        berlin(2026, 10, 25, 9),
        {"description": "put the clocks back"},
    ),
    Phrasing(
        "Remind me on January 5th to file the taxes.",
        YEAR_END,
        "remind",
        berlin(2027, 1, 5, 9),
        {"description": "file the taxes"},
    ),
    # schedule
    Phrasing(
        "let's meet on Friday at 3 at the cafe",
        W,
        "schedule",
        berlin(2026, 3, 6, 15),
        {"location": "the cafe"},
    ),
    Phrasing(
        "Schedule a meeting with Sam tomorrow at 10.",
        W,
        "schedule",
        berlin(2026, 3, 5, 10),
        {"name": "meeting with Sam"},
    ),
    Phrasing(
        "I have a dentist appointment next Monday at 9:15.",
        W,
        "schedule",
        berlin(2026, 3, 9, 9, 15),
        {"name": "dentist appointment"},
    ),
    Phrasing(
        "Let's have lunch tomorrow at noon.",
        W,
        "schedule",
        berlin(2026, 3, 5, 12),
        {"name": "lunch"},
    ),
    Phrasing(
        "put a team meeting in my calendar for Thursday at 2",
        W,
        "schedule",
        berlin(2026, 3, 5, 14),
        {"name": "team meeting"},
    ),
    Phrasing(
        "We're meeting the architects on March 12 at 11am.", W, "schedule", berlin(2026, 3, 12, 11)
    ),
    Phrasing(
        "set up a call with Priya at 4 tomorrow",
        W,
        "schedule",
        berlin(2026, 3, 5, 16),
        {"name": "call with Priya"},
    ),
    Phrasing("Let's meet next Monday at 10.", YEAR_END, "schedule", berlin(2027, 1, 4, 10)),
    # contact
    Phrasing(
        "text John that I'm late",
        W,
        "contact",
        None,
        {"name": "John", "method": "message", "details": "I'm late"},
    ),
    Phrasing(
        "Email Sara the report.",
        W,
        "contact",
        None,
        {"name": "Sara", "method": "email", "details": "the report"},
    ),
    Phrasing("call Mum", W, "contact", None, {"name": "Mum", "method": "call"}),
    Phrasing(
        "Send a message to Alex saying the door code is 4512.",
        W,
        "contact",
        None,
        {"name": "Alex", "method": "message", "details": "the door code is 4512"},
    ),
    Phrasing(
        "Tell Ben dinner is ready.",
        W,
        "contact",
        None,
        {"name": "Ben", "method": "message", "details": "dinner is ready"},
    ),
    Phrasing(
        "Could you call Grandma, please?", W, "contact", None, {"name": "Grandma", "method": "call"}
    ),
    Phrasing(
        "Mira, text Lisa I'll be there in 10 minutes.",
        W,
        "contact",
        None,
        {"name": "Lisa", "method": "message", "details": "I'll be there in 10 minutes"},
    ),
    # task
    Phrasing("I need to buy milk", W, "task", None, {"description": "buy milk"}),
    Phrasing("add buy milk to my list", W, "task", None, {"description": "buy milk"}),
    Phrasing(
        "don't forget to water the plants", W, "task", None, {"description": "water the plants"}
    ),
    Phrasing("Add milk to my shopping list.", W, "task", None, {"description": "buy milk"}),
    Phrasing(
        "I'll call the dentist tomorrow.",
        W,
        "task",
        berlin(2026, 3, 5, 9),
        {"description": "call the dentist"},
    ),
    Phrasing(
        "I have to finish the slides by Friday.",
        W,
        "task",
        berlin(2026, 3, 6, 9),
        {"description": "finish the slides"},
    ),
    Phrasing(
        "I'm going to fix the bike this evening.",
        W,
        "task",
        berlin(2026, 3, 4, 18),
        {"description": "fix the bike"},
    ),
    Phrasing(
        "We need to renew the car insurance.",
        W,
        "task",
        None,
        {"description": "renew the car insurance"},
    ),
    Phrasing(
        "I gotta pick up the dry cleaning at 6",
        W,
        "task",
        berlin(2026, 3, 4, 18),
        {"description": "pick up the dry cleaning"},
    ),
    # more Whisper forms and phrasings of every type
    Phrasing(
        "Remind me to call Mom at 5 PM.",
        W,
        "remind",
        berlin(2026, 3, 4, 17),
        {"description": "call Mom"},
    ),
    Phrasing(
        "remind me at 7 in the morning to go running",
        W,
        "remind",
        berlin(2026, 3, 5, 7),
        {"description": "go running"},
    ),
    Phrasing(
        "Remind me tonight at 9 to take the bins out.",
        W,
        "remind",
        berlin(2026, 3, 4, 21),
        {"description": "take the bins out"},
    ),
    Phrasing(
        "Mira, remind me in 1 hour to call Sam.",
        W,
        "remind",
        berlin(2026, 3, 4, 15),
        {"description": "call Sam"},
    ),
    Phrasing(
        "remind me next Monday at 10 to submit the report",
        W,
        "remind",
        berlin(2026, 3, 9, 10),
        {"description": "submit the report"},
    ),
    Phrasing(
        "Remind me, in 5 minutes, to turn off the stove.",
        W,
        "remind",
        berlin(2026, 3, 4, 14, 5),
        {"description": "turn off the stove"},
    ),
    Phrasing(
        "remind me about the dentist on Friday",
        W,
        "remind",
        berlin(2026, 3, 6, 9),
        {"description": "the dentist"},
    ),
    Phrasing(
        "Remind me that the bins go out tomorrow.",
        W,
        "remind",
        berlin(2026, 3, 5, 9),
        {"description": "the bins go out"},
    ),
    Phrasing(
        "Could you remind me at 6:15 to call the vet?",
        W,
        "remind",
        berlin(2026, 3, 4, 18, 15),
        {"description": "call the vet"},
    ),
    Phrasing(
        "Set a reminder 10 minutes from now to check the pasta.",
        W,
        "remind",
        berlin(2026, 3, 4, 14, 10),
        {"description": "check the pasta"},
    ),
    Phrasing(
        "Let's get coffee on Thursday at 10:30.",
        W,
        "schedule",
        berlin(2026, 3, 5, 10, 30),
        {"name": "coffee"},
    ),
    Phrasing(
        "Schedule a dentist appointment for March 20th at 2pm.",
        W,
        "schedule",
        berlin(2026, 3, 20, 14),
        {"name": "dentist appointment"},
    ),
    Phrasing(
        "My haircut is on Friday at 4.", W, "schedule", berlin(2026, 3, 6, 16), {"name": "haircut"}
    ),
    Phrasing(
        "we have a team call at 3 tomorrow",
        W,
        "schedule",
        berlin(2026, 3, 5, 15),
        {"name": "team call"},
    ),
    Phrasing(
        "Call mom at 5.", W, "contact", berlin(2026, 3, 4, 17), {"name": "mom", "method": "call"}
    ),
    Phrasing(
        "Text Sarah, I'm on my way.",
        W,
        "contact",
        None,
        {"name": "Sarah", "method": "message", "details": "I'm on my way"},
    ),
    Phrasing(
        "send John a message saying I'll be late",
        W,
        "contact",
        None,
        {"name": "John", "method": "message", "details": "I'll be late"},
    ),
    Phrasing(
        "let Anna know that dinner is at 7",
        W,
        "contact",
        None,
        {"name": "Anna", "method": "message", "details": "dinner is at 7"},
    ),
    Phrasing(
        "email the landlord about the broken heater",
        W,
        "contact",
        None,
        {"name": "the landlord", "method": "email", "details": "the broken heater"},
    ),
    Phrasing(
        "Please call the plumber.", W, "contact", None, {"name": "the plumber", "method": "call"}
    ),
    Phrasing("Call Dr. Klein.", W, "contact", None, {"name": "Dr. Klein", "method": "call"}),
    Phrasing(
        "I need to pick up the kids at 3:30.",
        W,
        "task",
        berlin(2026, 3, 4, 15, 30),
        {"description": "pick up the kids"},
    ),
    Phrasing(
        "I have to call the insurance company tomorrow morning.",
        W,
        "task",
        berlin(2026, 3, 5, 9),
        {"description": "call the insurance company"},
    ),
    Phrasing(
        "Add eggs and bread to the shopping list.",
        W,
        "task",
        None,
        {"description": "buy eggs and bread"},
    ),
    Phrasing(
        "Note to self: renew the library books.",
        W,
        "task",
        None,
        {"description": "renew the library books"},
    ),
    Phrasing(
        "I've got to send the invoice by 5 p.m.",
        W,
        "task",
        berlin(2026, 3, 4, 17),
        {"description": "send the invoice"},
    ),
    Phrasing(
        "we're gonna paint the fence on Saturday",
        W,
        "task",
        berlin(2026, 3, 7, 9),
        {"description": "paint the fence"},
    ),
    Phrasing(
        "I must remember to call the bank.", W, "task", None, {"description": "call the bank"}
    ),
    Phrasing(
        "remind me to pick up Emma from school at 3 30",
        W,
        "remind",
        berlin(2026, 3, 4, 15, 30),
        {"description": "pick up Emma from school"},
    ),
    Phrasing(
        "I'm going to the gym at 6.",
        W,
        "task",
        berlin(2026, 3, 4, 18),
        {"description": "go to the gym"},
    ),
    Phrasing(
        "I promise I will fix the sink this weekend.",
        W,
        "task",
        berlin(2026, 3, 7, 9),
        {"description": "fix the sink"},
    ),
    Phrasing(
        "Schedule dentist on Friday at 9.",
        W,
        "schedule",
        berlin(2026, 3, 6, 9),
        {"name": "dentist"},
    ),
    Phrasing(
        "Yeah I will send it to you tonight.",
        W,
        "task",
        berlin(2026, 3, 4, 20),
        {"description": "send it to you"},
    ),
    Phrasing(
        "Sounds good, let's meet at 5 at the station.",
        W,
        "schedule",
        berlin(2026, 3, 4, 17),
        {"location": "the station"},
    ),
    # no commitment
    Phrasing("did you remind him?", W, None),
    Phrasing("I called mom yesterday.", W, None),
    Phrasing("If I had time I would call her.", W, None),
    Phrasing("She said she'd call me tomorrow.", W, None),
    Phrasing("Don't remind me about that.", W, None),
    Phrasing("How was your weekend?", W, None),
    Phrasing("Nice weather today.", W, None),
    Phrasing("I already bought milk.", W, None),
    Phrasing("Did you call the dentist?", W, None),
    Phrasing("I don't need to buy milk.", W, None),
    Phrasing("He told me to buy milk.", W, None),
    Phrasing("Maybe I'll call her at some point.", W, None),
    Phrasing("I was going to call him at 5.", W, None),
    Phrasing("I'll be there in 10 minutes.", W, None),
    Phrasing("What time is it?", W, None),
    Phrasing("I think we should talk about it sometime.", W, None),
    Phrasing("Admiral Nelson won at Trafalgar.", W, None),
    Phrasing("Do you want to meet at 3?", W, None),
    Phrasing("I'd love to meet sometime.", W, None),
    Phrasing("Did you remember to call the bank?", W, None),
    Phrasing("I might call her later.", W, None),
    Phrasing("Mira is a nice name.", W, None),
    Phrasing("I told Mira to remind me.", W, None),
    Phrasing("They're meeting at 5.", W, None),
    Phrasing("We had a meeting at 3.", W, None),
    Phrasing("I didn't call him.", W, None),
    Phrasing("Who's going to call the plumber?", W, None),
    Phrasing("Sam needs to buy milk.", W, None),
    Phrasing("I'll probably call later.", W, None),
    Phrasing("I won't forget to call.", W, None),
    Phrasing("Tell me a joke.", W, None),
    Phrasing("Call it a day.", W, None),
    Phrasing("It's 5 o'clock already.", W, None),
    Phrasing("I used to call her every day.", W, None),
    Phrasing("If you see John, tell him I said hi.", W, None),
    Phrasing("Thank you so much.", W, None),
    Phrasing("Let's see.", W, None),
    Phrasing("I need to think about it.", W, None),
    Phrasing("I have to go.", W, None),
    Phrasing("We need to talk.", W, None),
    Phrasing("Yes, I'll do it.", W, None),
    Phrasing("I should call my mother tonight.", W, None),
]

# Written before the rules existed; never tuned against.
HELD_OUT: list[Phrasing] = [
    Phrasing(
        "Can you remind me to send the invoice at 4?",
        W,
        "remind",
        berlin(2026, 3, 4, 16),
        {"description": "send the invoice"},
    ),
    Phrasing(
        "Remind me about the parcel in 45 minutes.",
        W,
        "remind",
        berlin(2026, 3, 4, 14, 45),
        {"description": "the parcel"},
    ),
    Phrasing(
        "please remind me to feed the cat at 6 pm",
        W,
        "remind",
        berlin(2026, 3, 4, 18),
        {"description": "feed the cat"},
    ),
    Phrasing(
        "Set a reminder to call Grandpa at 11.",
        W,
        "remind",
        berlin(2026, 3, 4, 23),
        {"description": "call grandpa"},
    ),
    Phrasing(
        "Remind me in half an hour to check the laundry.",
        W,
        "remind",
        berlin(2026, 3, 4, 14, 30),
        {"description": "check the laundry"},
    ),
    Phrasing(
        "Remind me the day after tomorrow to return the books.",
        W,
        "remind",
        berlin(2026, 3, 6, 9),
        {"description": "return the books"},
    ),
    Phrasing(
        "Remind me on Saturday at 10 to call the garage",
        W,
        "remind",
        berlin(2026, 3, 7, 10),
        {"description": "call the garage"},
    ),
    Phrasing(
        "remind me to stretch at 1030",
        W,
        "remind",
        berlin(2026, 3, 4, 22, 30),
        {"description": "stretch"},
    ),
    Phrasing(
        "Mira remind me in 3 hours to take my medicine",
        W,
        "remind",
        berlin(2026, 3, 4, 17),
        {"description": "take my medicine"},
    ),
    Phrasing(
        "Remind me tomorrow at 9 to water the garden.",
        EVE_OF_SPRING_DST,
        "remind",
        berlin(2026, 3, 29, 9),
        {"description": "water the garden"},
    ),
    Phrasing(
        "Let's grab dinner on Friday at 7 at Luigi's.",
        W,
        "schedule",
        berlin(2026, 3, 6, 19),
        {"location": "Luigi's"},
    ),
    Phrasing(
        "Schedule a call with the landlord on March 9 at 2:30.",
        W,
        "schedule",
        berlin(2026, 3, 9, 14, 30),
        {"name": "call with the landlord"},
    ),
    Phrasing(
        "Book a meeting with Tom for tomorrow at 3pm.",
        W,
        "schedule",
        berlin(2026, 3, 5, 15),
        {"name": "meeting with Tom"},
    ),
    Phrasing(
        "I've got a doctor's appointment on Thursday at 8:45.",
        W,
        "schedule",
        berlin(2026, 3, 5, 8, 45),
        {"name": "doctor's appointment"},
    ),
    Phrasing(
        "Message Dave that the meeting moved.",
        W,
        "contact",
        None,
        {"name": "Dave", "method": "message", "details": "the meeting moved"},
    ),
    Phrasing(
        "Email Professor Klein the draft.",
        W,
        "contact",
        None,
        {"name": "Professor Klein", "method": "email", "details": "the draft"},
    ),
    Phrasing("Give Mum a call.", W, "contact", None, {"name": "Mum", "method": "call"}),
    Phrasing(
        "Text my sister that I'll pick her up.",
        W,
        "contact",
        None,
        {"name": "my sister", "method": "message", "details": "I'll pick her up"},
    ),
    Phrasing(
        "I have to pay the electricity bill.",
        W,
        "task",
        None,
        {"description": "pay the electricity bill"},
    ),
    Phrasing("Put eggs on the shopping list.", W, "task", None, {"description": "buy eggs"}),
    Phrasing(
        "Don't let me forget to charge the car tonight.",
        W,
        "task",
        berlin(2026, 3, 4, 20),
        {"description": "charge the car"},
    ),
    Phrasing(
        "I will clean the garage on Sunday.",
        W,
        "task",
        berlin(2026, 3, 8, 9),
        {"description": "clean the garage"},
    ),
    Phrasing(
        "Remember to bring the umbrella tomorrow.",
        W,
        "task",
        berlin(2026, 3, 5, 9),
        {"description": "bring the umbrella"},
    ),
    Phrasing(
        "I'll call you back at 10.",
        FRIDAY_MORNING,
        "task",
        berlin(2026, 3, 6, 10),
        {"description": "call you back"},
    ),
    Phrasing("I talked to Sam yesterday.", W, None),
    Phrasing("Why didn't you call me?", W, None),
    Phrasing("If it rains we could stay in.", W, None),
    Phrasing("My brother said he'll email the landlord.", W, None),
    Phrasing("I won't be calling him tonight.", W, None),
    Phrasing("Please don't text John.", W, None),
    Phrasing("That was a great movie.", W, None),
    Phrasing("Have you booked the meeting room?", W, None),
]
