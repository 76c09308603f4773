"""Reflective quorum: who to ask, the escalation clock, replies and the outbox.

The public functions notify, the CLI and the dashboard call; each takes an injected
``Session`` (and ``now`` where time matters) and commits its own work.
"""

from roster.quorum.candidates import Candidate, candidates_for
from roster.quorum.escalation import advance
from roster.quorum.handling import ReplyOutcome, record_keypress, record_sms_reply, record_typed_reply
from roster.quorum.lifecycle import (
    QuorumError,
    cancel_request,
    conference_participants,
    create_request,
    queue_conference,
    save_next_step,
)
from roster.quorum.outbox import (
    claim_outbound,
    describe_twilio_error,
    mark_failed,
    mark_outbox,
    mark_sent,
    mark_sent_many,
    record_delivery_status,
)
from roster.quorum.policy import DEFAULT_POLICY, EscalationPolicy, policy_for
from roster.quorum.replies import ParsedReply, ReplyKind, parse_reply
from roster.quorum.views import RequestView, explain_candidates, list_requests, outbox, request_view, unparsed_replies

__all__ = [
    "DEFAULT_POLICY", "Candidate", "EscalationPolicy", "ParsedReply", "QuorumError", "ReplyKind", "ReplyOutcome",
    "RequestView", "advance", "cancel_request", "candidates_for", "claim_outbound", "conference_participants",
    "create_request", "describe_twilio_error", "explain_candidates", "list_requests", "mark_failed", "mark_outbox",
    "mark_sent", "mark_sent_many", "outbox", "parse_reply", "policy_for", "queue_conference", "record_delivery_status",
    "record_keypress", "record_sms_reply", "record_typed_reply", "request_view", "save_next_step", "unparsed_replies",
]
