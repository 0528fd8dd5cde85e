"""Fixtures for the pipeline step: the live emulator of tests/live (servers are real PostgreSQL, as verify needs)."""

from __future__ import annotations

from live.conftest import emulator, live_emulator  # noqa: F401 - fixtures used from here
