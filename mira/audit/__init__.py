"""The audit log: admin and biometric actions (voice samples, persons, members, device keys,
networks, exports, imports, purges), readable by a network's owners at `GET {P}/audit`."""

from mira.audit.services import ACTIONS, record

__all__ = ["ACTIONS", "record"]
