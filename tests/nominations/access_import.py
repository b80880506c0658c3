"""Access-matrix rows of the 《人选汇总表》 import.

``prepare`` stores a real xlsx upload as an import of the 上城区 district account (the owner)
for the sample cohort. An upload is seen and confirmed by its owner only: the second district
and the admin (who did not upload it) get a bare 404. The demo cohorts' windows are closed,
so the owner's confirm is refused with a message on the preview (302) and the upload POST
shows the form with the window message (200); tests/nominations/test_import.py opens the
window and covers the writes.
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from werkzeug.datastructures import FileStorage

from blueprints.nominations import importer
from mingxiao import uploads
from tests._demo import DISTRICT, ROLE_EMAILS, Sample, Samples

LOGIN = "login"  # tests.test_access_matrix.LOGIN
HEADERS = ("序号", "姓名", "性别", "出生日期", "所在学校", "现任职务", "任正职时间", "专业技术职务")


def sample_file() -> bytes:
    """A small 汇总表 with a title row (its contents are not the demo people's)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "人选汇总表"
    ws.append(["“杭州市中小学名校长培养工程”人选汇总表"])
    ws.append(list(HEADERS))
    ws.append(
        [1, "样例校长", "男", "1975-06-18", "杭州市样例小学", "正职校长", "2016-09-01", "高级教师"]
    )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


class Reposted(io.BytesIO):
    """A file the test client can post again: closing rewinds it (tests/test_csrf.py posts
    the same sample data three times, and the client closes files after each request)."""

    def close(self) -> None:
        self.seek(0)


def _upload(s: Samples) -> dict[str, Any]:
    return {"upload_id": s.extra["import_upload"]}


def prepare(app: Any, db: Any, s: Samples) -> None:
    """Store one upload of the 上城区 account, as the upload form does."""
    with app.test_request_context():
        folder = importer.imports_folder(app.config["UPLOAD_FOLDER"])
        stored = uploads.save_upload(
            FileStorage(io.BytesIO(sample_file()), filename="人选汇总表.xlsx"),
            kinds=("xlsx",),
            folder=folder,
        )
        s.extra["import_upload"] = importer.start_import(
            folder,
            stored.name,
            original_name=stored.original_name,
            owner=ROLE_EMAILS["district"],
            district=DISTRICT,
            cohort_id=s.records["cohorts"]["admin"],
            now=db.now(),
        )


SAMPLES: dict[str, dict[str, Sample]] = {
    "nominations.import_upload": {
        "": Sample(
            data=lambda s: {
                "cohort": s.records["cohorts"]["admin"],
                "district": DISTRICT,
                "file": (Reposted(sample_file()), "人选汇总表.xlsx"),
            }
        )
    },
    "nominations.import_preview": {"district": Sample(args=_upload)},
    "nominations.import_confirm": {"district": Sample(args=_upload)},
    "nominations.import_result": {"district": Sample(args=_upload)},
    "nominations.import_discard": {"district": Sample(args=_upload)},
}

# fmt: off
#                                                           anonymous admin district district2 expert mentor mentor2 trainee
MATRIX: dict[tuple[str, str, str], tuple[Any, ...]] = {
    ("nominations.import_upload", "GET", ""):               (LOGIN,   200,  200,     200,      403,   403,   403,    403),
    ("nominations.import_upload", "POST", ""):              (LOGIN,   200,  200,     200,      403,   403,   403,    403),
    ("nominations.import_preview", "GET", "district"):      (LOGIN,   404,  200,     404,      403,   403,   403,    403),
    ("nominations.import_confirm", "POST", "district"):     (LOGIN,   404,  302,     404,      403,   403,   403,    403),
    ("nominations.import_result", "GET", "district"):       (LOGIN,   404,  200,     404,      403,   403,   403,    403),
    ("nominations.import_discard", "POST", "district"):     (LOGIN,   404,  302,     404,      403,   403,   403,    403),
}
# fmt: on
