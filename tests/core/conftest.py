"""Hypothesis profiles for the engine tests, chosen by HYPOTHESIS_PROFILE:
``fast`` (default: quick enough for every run) and ``slow`` (many more examples, for CI
nights and after touching the engine), as pydantic-core does."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "fast",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "slow",
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))
