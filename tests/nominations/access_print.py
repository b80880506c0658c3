"""Access-matrix rows of the printable 《人选推荐表》 and its PDF (blueprints/nominations/views/printing.py).

The nominee's own district and admins print it; every other signed-in role, and the second
district on the first district's record, get a bare 404 (the id is not confirmed).
"""

from __future__ import annotations

from typing import Any

from tests._demo import Sample

LOGIN = "login"


def _own(s: Any) -> dict[str, Any]:
    return {"nomination_id": s.records["nominations"]["district"]}


SAMPLES = {
    "nominations.print_form": {"district": Sample(args=_own)},
    "nominations.print_pdf": {"district": Sample(args=_own)},
}

# fmt: off
#                                                     anonymous admin  district district2 expert mentor mentor2 trainee
MATRIX = {
    ("nominations.print_form", "GET", "district"):    (LOGIN,   200,   200,     404,      404,   404,   404,    404),
    ("nominations.print_pdf", "GET", "district"):     (LOGIN,   200,   200,     404,      404,   404,   404,    404),
}
# fmt: on
