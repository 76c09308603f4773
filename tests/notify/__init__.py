"""Tests for issue 3's notify side: Twilio client, dispatch, webhooks, polling, serve."""
