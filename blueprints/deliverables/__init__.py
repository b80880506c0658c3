"""The deliverables plugin (work in progress: see the issue)."""

from __future__ import annotations
