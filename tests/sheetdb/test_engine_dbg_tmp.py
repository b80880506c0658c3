import shutil, time
from tests.sheetdb.helpers import copy_over
def test_dbg(tmp_path, db, workbook):
    m = db.table("mentors")
    a = m.insert({"name": "甲", "organisation": "杭州二中"}); m.insert({"name": "乙", "organisation": "杭州二中"})
    db.sync()
    old = tmp_path / "old-copy.xlsx"
    shutil.copy2(workbook, old)
    time.sleep(1.05)
    print(m.update(a.id, {"organisation": "学军中学"}, base={"organisation": "杭州二中"}))
    m.insert({"name": "丙", "organisation": "杭州二中"}); m.insert({"name": "丁", "organisation": "杭州二中"})
    print(db.sync())
    copy_over(old, workbook)
    print(db.sync())
    (incident,) = db.incidents()
    print(incident["detail"]["reverted"])
    time.sleep(1.05)
    db.reapply_incident(incident["id"], user="admin")
    print(db.sync(), db.conflicts())
