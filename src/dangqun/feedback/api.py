"""/api/v1 endpoints of the feedback app."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["feedback"])
