"""Build the real ``twilio`` client from :class:`~roster.settings.Settings`.

The twilio library has no base-URL setting, so when ``DIVEBOAT_TWILIO_API_URL`` is
set (tests, regional proxies) the HTTP clients below rewrite every request for a
``*.twilio.com`` host to that base URL, keeping path and query.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlencode, urlsplit, urlunsplit

from aiohttp import ClientSession, TCPConnector
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from roster.settings import Settings

REQUEST_TIMEOUT_SECONDS = 20.0
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class TwilioNotConfigured(RuntimeError):
    """Twilio credentials are missing; Dive Boat runs in outbox mode."""


def twilio_configured(settings: Settings) -> bool:
    """True when account SID, auth token and sending number are all set."""
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    return bool(settings.twilio_account_sid and token and settings.twilio_from_number)


def rewrite_twilio_url(url: str, base_url: str | None) -> str:
    """Point a ``https://*.twilio.com/...`` URL at ``base_url`` (unchanged when ``base_url`` is None)."""
    if not base_url:
        return url
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host != "twilio.com" and not host.endswith(".twilio.com"):
        return url
    base = urlsplit(base_url.rstrip("/"))
    return urlunsplit((base.scheme, base.netloc, base.path + parts.path, parts.query, parts.fragment))


class RedirectingHttpClient(TwilioHttpClient):
    """The library's blocking HTTP client, sending Twilio requests to ``base_url``."""

    def __init__(self, base_url: str | None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url

    def request(self, method, url, *args, **kwargs):
        return super().request(method, rewrite_twilio_url(url, self.base_url), *args, **kwargs)


class AsyncRedirectingHttpClient(AsyncTwilioHttpClient):
    """The library's aiohttp client, sending Twilio requests to ``base_url``.

    Create it inside a running event loop (aiohttp's session binds to it) and close it.
    Its pool opens up to ``connections`` connections at once (aiohttp's default is 100).
    """

    def __init__(self, base_url: str | None, *, connections: int, **kwargs) -> None:
        super().__init__(pool_connections=False, **kwargs)
        self.session = ClientSession(connector=TCPConnector(limit=connections))
        self.base_url = base_url

    async def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                      allow_redirects=False):
        # The library's async client ignores its own ``timeout``: apply it per request. Basic
        # auth goes in as a header (aiohttp deprecates its ``auth=`` parameter). The form goes
        # in encoded: given a dict, aiohttp builds a multipart writer (and a uuid4 boundary) for
        # every message even though it sends it url-encoded, a tenth of a text's cost.
        if auth is not None:
            headers = dict(headers or {}) | {"Authorization": basic_authorization(*auth)}
        if isinstance(data, dict):
            headers = dict(headers or {}) | {"Content-Type": FORM_CONTENT_TYPE}
            data = urlencode(data, doseq=True).encode()
        return await super().request(
            method, rewrite_twilio_url(url, self.base_url), params=params, data=data, headers=headers,
            auth=None, timeout=timeout or self.timeout, allow_redirects=allow_redirects,
        )


def basic_authorization(username: str, password: str) -> str:
    """An HTTP Basic ``Authorization`` header value."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def api_error_text(error: TwilioException) -> str:
    """A one-line description of a Twilio API error: HTTP status, Twilio code and message."""
    if isinstance(error, TwilioRestException):
        return f"HTTP {error.status} (code {error.code}) {error.msg}"
    response = error.args[1] if len(error.args) > 1 else None
    status = getattr(response, "status_code", None)
    if status is None:
        return str(error.args[0] if error.args else error)
    try:
        payload = json.loads(response.text)
    except (TypeError, ValueError):
        payload = {}
    return f"HTTP {status} (code {payload.get('code', status)}) {payload.get('message', '')}".rstrip()


def _credentials(settings: Settings) -> tuple[str, str]:
    if not twilio_configured(settings):
        raise TwilioNotConfigured(
            "Twilio is not configured: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER"
        )
    return settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value()


def make_client(settings: Settings) -> Client:
    """A blocking Twilio client (for polling and one-off calls)."""
    account_sid, token = _credentials(settings)
    http_client = RedirectingHttpClient(settings.twilio_api_url, timeout=REQUEST_TIMEOUT_SECONDS)
    return Client(account_sid, token, http_client=http_client)


@asynccontextmanager
async def async_client(settings: Settings, *, connections: int | None = None) -> AsyncIterator[Client]:
    """An async Twilio client for ``*_async`` calls, with a pool of ``connections``
    (``settings.send_concurrency`` by default); the pool is closed on exit."""
    account_sid, token = _credentials(settings)
    http_client = AsyncRedirectingHttpClient(settings.twilio_api_url, connections=connections or settings.send_concurrency,
                                             timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        yield Client(account_sid, token, http_client=http_client)
    finally:
        await http_client.close()
