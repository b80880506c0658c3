"""The completion plugin (work in progress: see issue 6)."""

from __future__ import annotations
