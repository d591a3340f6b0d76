from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings


@pytest.fixture(autouse=True, scope="session")
def _static_root_exists():
    # WhiteNoise warns (an error under filterwarnings=error) when STATIC_ROOT is missing, which
    # it is in a fresh test data dir. TODO: drop once settings create STATIC_ROOT themselves.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
