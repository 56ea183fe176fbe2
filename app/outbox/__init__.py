"""Notifications: written to an outbox in the transaction that causes them, sent after it.

`notify()` adds one row per person who chose this kind on a channel, keyed by an idempotency
key, in the caller's transaction: the change and its notifications commit together or not at
all. A worker (a thread in each server process, or `flask outbox work`) claims due rows,
sends each through its channel's sender and marks it sent, retrying with backoff. A row
holds who, which kind and which channel, never content: every mail says only "Something new
in Duet" in the recipient's language (docs/safety.md, "Notifications").
"""
