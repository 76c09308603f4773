"""What the fake Twilio stores and returns: messages and calls as Twilio's JSON resources."""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from email.utils import format_datetime

from fastapi.responses import JSONResponse

API_VERSION = "2010-04-01"
OPT_OUT_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
OPT_IN_WORDS = {"START", "UNSTOP", "YES"}
ERROR_MESSAGES = {
    21211: "The 'To' number is not a valid phone number.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
}


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def rfc2822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(timezone.utc))


def parse_filter_time(text: str) -> datetime:
    """``DateSent>`` values: a date (``2027-03-01``) or a UTC time (``2027-03-01T09:00:00Z``)."""
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=timezone.utc)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Message:
    """One SMS as the fake recorded it (outbound from our number, or inbound to it)."""

    sid: str
    to: str
    from_: str
    body: str
    direction: str  # "outbound-api" or "inbound"
    date_sent: datetime
    status: str = "queued"
    status_callback: str | None = None
    error_code: int | None = None
    callbacks_sent: list[str] = field(default_factory=list)

    def resource(self, account_sid: str) -> dict:
        return {
            "sid": self.sid,
            "account_sid": account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.date_sent),
            "date_sent": rfc2822(self.date_sent),
            "date_updated": rfc2822(self.date_sent),
            "direction": self.direction,
            "error_code": self.error_code,
            "error_message": ERROR_MESSAGES.get(self.error_code) if self.error_code else None,
            "from": self.from_,
            "to": self.to,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "GBP",
            "status": self.status,
            "subresource_uris": {},
            "uri": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{self.sid}.json",
        }


@dataclass
class Call:
    """One outbound call: the webhook URL or inline TwiML it was created with, and what was heard."""

    sid: str
    to: str
    from_: str
    url: str | None
    twiml: str | None
    machine_detection: str | None
    status_callback: str | None
    created_at: datetime
    status: str = "queued"
    updates: list[dict] = field(default_factory=list)
    documents: list[tuple[str, str]] = field(default_factory=list)  # (url it came from, TwiML)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # what Twilio posted to us

    @property
    def heard(self) -> list[str]:
        """Everything ``<Say>`` said on this call so far, in order."""
        return [element.text or "" for _, twiml in self.documents for element in ET.fromstring(twiml).iter("Say")]

    def resource(self, account_sid: str) -> dict:
        return {
            "sid": self.sid,
            "account_sid": account_sid,
            "api_version": API_VERSION,
            "date_created": rfc2822(self.created_at),
            "date_updated": rfc2822(self.created_at),
            "direction": "outbound-api",
            "from": self.from_,
            "to": self.to,
            "status": self.status,
            "uri": f"/{API_VERSION}/Accounts/{account_sid}/Calls/{self.sid}.json",
            "subresource_uris": {},
        }


def api_error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
        status_code=status,
    )
