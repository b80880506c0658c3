#!/usr/bin/env bash
# Nightly copy of everything mingxiao keeps: an xlsx snapshot of the workbook (also on the
# Google backend), the journal and credential databases (SQLite online backup, safe while the
# site runs) and the uploads. Keeps 30 days. Run by cron (deploy/crontab).
set -euo pipefail
APP=${MINGXIAO_APP:-/opt/mingxiao}
INSTANCE=${MINGXIAO_INSTANCE_PATH:-/var/lib/mingxiao}
DEST=${MINGXIAO_BACKUP_DIR:-/var/backups/mingxiao}
VENV=${MINGXIAO_VENV:-$APP/.venv}
STAMP=$(date +%Y%m%d-%H%M)
mkdir -p "$DEST/$STAMP"
chmod 700 "$DEST"
cd "$APP"
"$VENV/bin/flask" --app app sheets backup >/dev/null
cp -p "$INSTANCE"/backups/*.xlsx "$DEST/$STAMP/" 2>/dev/null || true
for db in journal credentials; do
  if [ -f "$INSTANCE/$db.sqlite3" ]; then
    "$VENV/bin/python" - "$INSTANCE/$db.sqlite3" "$DEST/$STAMP/$db.sqlite3" <<'PY'
import sqlite3, sys
src, dst = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
with dst:
    src.backup(dst)
PY
  fi
done
[ -d "$INSTANCE/uploads" ] && tar -C "$INSTANCE" -czf "$DEST/$STAMP/uploads.tar.gz" uploads
find "$DEST" -mindepth 1 -maxdepth 1 -type d -mtime +30 -exec rm -rf {} +
echo "backup written to $DEST/$STAMP"
