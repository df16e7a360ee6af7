"""Settings shared by the whole suite."""

from __future__ import annotations

from hypothesis import settings

# Property tests check results, not speed: on a busy machine (one xdist worker per core, other
# jobs beside) a slow example must not fail as "deadline exceeded".
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")
