"""/api/v1 endpoints of the learning app."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["learning"])
