"""Realtime: events pushed to the apps over a WebSocket as soon as their change commits.

- `outbox`: events recorded in a transaction are published once it commits (the events table
  stays the outbox: a socket that missed something reads it back from there);
- `hub`: one per process; fans published events out to this process's sockets, and through
  Redis pub/sub to every other web process (server mode) or in-process only (embedded);
- `messages`: outbox events in the shapes the Mira apps read;
- `sessions`: the session capability (`session_token`) a socket hands to its client;
- `socket`: the WebSocket route itself (flask-sock).
"""
