"""Every model, imported in one place so Alembic and the app see the whole schema."""

from mira.actions.models import Action
from mira.audit.models import AuditEntry
from mira.auth.models import DeviceKey, OAuthFlow, OAuthIdentity, RefreshToken, User
from mira.clients.models import Client
from mira.conversations.models import Conversation, conversation_participants
from mira.events.models import Event
from mira.interactions.models import Interaction
from mira.jobs.models import Job
from mira.memories.models import Memory
from mira.networks.models import Membership, Network
from mira.persons.models import Person, VoiceSample

__all__ = [
    "Action",
    "AuditEntry",
    "Client",
    "Conversation",
    "DeviceKey",
    "Event",
    "Interaction",
    "Job",
    "Membership",
    "Memory",
    "Network",
    "OAuthFlow",
    "OAuthIdentity",
    "Person",
    "RefreshToken",
    "User",
    "VoiceSample",
    "conversation_participants",
]
