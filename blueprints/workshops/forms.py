"""Forms of the workshop pages: shape only (WTForms + CSRF), built from the sheet schemas so
the HTML field names are the schema keys and the labels and help texts are the sheet's own.
The rules (one workshop per trainee, leave ≥ join) are in ``rules.py``; the forms come from
``mingxiao.schema_forms.schema_form`` with these fields."""

from __future__ import annotations

# The fields each form shows, in order. The workshop's trainee and district come from the
# server (the signed-in trainee's own record), never from the form.
WORKSHOP_FIELDS: tuple[str, ...] = ("name", "founded_on", "focus", "base_school", "note")
MEMBER_FIELDS: tuple[str, ...] = (
    "name", "school", "district", "position", "role", "joined_on", "left_on",
    "outcome", "outcome_note",
)  # fmt: skip
ACTIVITY_FIELDS: tuple[str, ...] = (
    "date", "topic", "activity_type", "participants", "hours", "location", "note",
)  # fmt: skip
