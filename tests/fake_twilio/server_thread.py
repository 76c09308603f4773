"""Run an ASGI app under uvicorn in a daemon thread (the fake Twilio, and our server in tests)."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn


class ServerThread:
    """Run an ASGI app under uvicorn in a daemon thread on a free port of 127.0.0.1.

    The port is bound at once, so ``url`` is known before the app is built (e.g. to
    put it into the app's settings as the public URL); pass the app to :meth:`start`.
    """

    def __init__(self, app=None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self.app = app
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, app=None) -> ServerThread:
        self.app = app or self.app
        if self.app is None:
            raise ValueError("give the ASGI app to run")
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, backlog=4096)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
        self._socket.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
