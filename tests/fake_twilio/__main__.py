"""``python -m tests.fake_twilio [LATENCY]``: a fake Twilio in its own process (benchmarks)."""

from __future__ import annotations

import json
import sys

from tests.fake_twilio.fake import FakeTwilio


def main() -> None:
    """Serve until stdin closes, answering every API request after LATENCY seconds.

    Prints one JSON line with ``api_url``, ``account_sid``, ``auth_token`` and ``number``,
    first.
    """
    fake = FakeTwilio().start()
    fake.default_latency = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    print(json.dumps({"api_url": fake.api_url, "account_sid": fake.account_sid, "auth_token": fake.auth_token,
                      "number": fake.number}), flush=True)
    sys.stdin.read()
    fake.stop()


if __name__ == "__main__":
    main()
