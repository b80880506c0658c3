#!/usr/bin/env bash
# Extract every msgid, merge it into each catalogue, and compile the .mo files.
#   scripts/i18n.sh            extract + update + compile
#   scripts/i18n.sh compile    compile only (after editing a .po by hand)
# New languages: pybabel init -i translations/messages.pot -d translations -l <code>
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYBABEL:-}" ]; then
  if [ -x .venv/bin/pybabel ]; then PYBABEL=.venv/bin/pybabel; else PYBABEL="$(command -v pybabel)"; fi
fi

if [ "${1:-}" != "compile" ]; then
  "$PYBABEL" extract -F babel.cfg -k _l -k N_ -k lazy_gettext --sort-by-file \
    --project mingxiao --copyright-holder "mingxiao" \
    -o translations/messages.pot .
  for po in translations/*/LC_MESSAGES/messages.po; do
    lang="$(basename "$(dirname "$(dirname "$po")")")"
    "$PYBABEL" update -i translations/messages.pot -d translations -l "$lang" --no-fuzzy-matching
  done
fi
"$PYBABEL" compile -d translations --statistics
