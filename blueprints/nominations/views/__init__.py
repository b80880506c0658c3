"""Nomination pages, one module per stage of the selection, all on the ``nominations`` blueprint.

- ``entry``: the list, entry and edit, district review (stamp / return / 报送), reopen,
  《人选汇总表》 and the cohort windows;
- ``attachments``: evidence files (附件) of a nomination: saving, download, removal;
- ``invitations``: fill-in invitation links (填表邀请) and the applicant's public 推荐表 page;
- ``importer``: import of a district's existing 《人选汇总表》 (upload, preview, chunked confirm);
- ``health``: ``nomination_sheet_notice()`` for the templates (health problems of the
  nominations and quotas sheets, scoped to the reader);
- ``printing``: the printable 《人选推荐表》 (A4 page with 打印) and its PDF download;
- ``publicity``: 公示与录取: periods, objections, finalising into the 学员 roster, the public list;
- ``review``: the city's 差额审核 (expert scoring, weights, ranking, shortlist → 拟录取);

Each module parses its forms, asks the policy and the plain-function rules, calls the engine
and renders; the rules themselves live beside this package (``rules.py``, ``workflow.py``…).
Importing a module registers its routes on ``bp`` (defined in ``blueprint.py``).
"""

from __future__ import annotations

from ..blueprint import bp
from . import attachments as attachments
from . import entry, health, printing, review
from . import importer as importer
from . import invitations as invitations
from . import publicity as publicity

__all__ = ["bp", "entry", "health", "printing", "review"]
