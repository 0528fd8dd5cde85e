"""Shared fixtures for the spec layer's tests (pure: no network, no Azure SDK)."""

from __future__ import annotations

from pathlib import Path

import pytest

SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def infra() -> Path:
    return Path(__file__).resolve().parents[2] / "infra"


@pytest.fixture
def azure_env() -> dict[str, str]:
    """The environment public.yaml and private.yaml interpolate."""
    return {"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION}
