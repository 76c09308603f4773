"""A lean HTTP/1.1 client for open-loop load: keep-alive connections, requests encoded up front.

The reply benchmark stands in for Twilio, whose own CPU is not on our machine. aiohttp
spent about 1.7 ms of CPU a request here (three times the bare endpoint it measured),
a third of a core at 200 requests a second on a machine of two; this client writes each
prepared request in one piece and reads the answer's status line, headers and body,
nothing more. The same client measures the bare endpoint and the servers.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import NamedTuple
from urllib.parse import urlencode, urlsplit

from notify.twilio_client import FORM_CONTENT_TYPE


class HttpError(RuntimeError):
    """The server closed the connection or answered something this client cannot read."""


class StaleConnection(HttpError):
    """The server closed the connection before answering at all."""


def encode_post(url: str, form: dict[str, str], headers: dict[str, str]) -> bytes:
    """A complete HTTP/1.1 POST of ``form`` (url-encoded) to ``url``, ready to write."""
    parts = urlsplit(url)
    body = urlencode(form).encode()
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Type: {FORM_CONTENT_TYPE}",
             f"Content-Length: {len(body)}", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connections:
    """Keep-alive connections to one server, opened as needed (one request at a time each) and
    used in turn, the one idle longest first: on a server of several workers sharing a port
    each connection was accepted by one of them, so all of them get requests (the last one
    used first would keep nearly every request on one connection, so on one worker)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname, parts.port or 80
        self._idle: deque[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = deque()
        self._open: list[asyncio.StreamWriter] = []

    async def send(self, request: bytes) -> Answer:
        """Send one prepared request and read its whole answer.

        A kept-alive connection the server closed while it sat idle (uvicorn closes them after
        5 s) is replaced by a new one, the request sent again: the server never read it."""
        while self._idle:
            reader, writer = self._idle.popleft()
            if reader.at_eof():
                writer.close()
                continue
            writer.write(request)
            try:
                return await self._answer(reader, writer)
            except StaleConnection:
                writer.close()
        reader, writer = await asyncio.open_connection(self._host, self._port)
        self._open.append(writer)
        writer.write(request)
        return await self._answer(reader, writer)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Answer:
        answer, keep_alive = await _read_response(reader)
        if keep_alive:
            self._idle.append((reader, writer))
        else:
            writer.close()
        return answer

    async def close(self) -> None:
        """Close every connection."""
        for writer in self._open:
            writer.close()
        for writer in self._open:
            try:
                await writer.wait_closed()
            except OSError:  # reset by the server already
                pass


class Answer(NamedTuple):
    """A server's answer: its status code and its ``Server-Timing`` durations (name -> ms)."""

    status: int
    timings: dict[str, float]


def server_timings(value: str) -> dict[str, float]:
    """``Server-Timing: db;dur=1.2, app;dur=3.4`` as ``{"db": 1.2, "app": 3.4}`` (parts without a duration left out)."""
    timings = {}
    for metric in filter(None, (part.strip() for part in value.split(","))):
        name, *params = (piece.strip() for piece in metric.split(";"))
        duration = next((p.partition("=")[2] for p in params if p.partition("=")[0].strip() == "dur"), None)
        if duration is not None:
            timings[name] = float(duration.strip('"'))
    return timings


async def _read_response(reader: asyncio.StreamReader) -> tuple[Answer, bool]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if not error.partial:
            raise StaleConnection("the server closed the connection without answering") from error
        raise HttpError("the server closed the connection in the middle of its answer") from error
    except ConnectionResetError as error:  # it closed with our request unread in its buffer
        raise StaleConnection("the server reset the connection without answering") from error
    except asyncio.LimitOverrunError as error:
        raise HttpError("the server sent an answer head too long to read") from error
    status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    if headers.get("transfer-encoding") == "chunked":
        while size := int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    answer = Answer(int(status_line.split(" ", 2)[1]), server_timings(headers.get("server-timing", "")))
    return answer, headers.get("connection") != "close"
