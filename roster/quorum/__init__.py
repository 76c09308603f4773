"""Reflective quorum: who to ask, the escalation clock, replies and the outbox."""
