#!/usr/bin/env bash
# Regenerates the edge-case snapshots (tests/snapshots.rs, cases/catalogue.jsonl)
# against the installed PyTorch. Changed or new snapshots are written next to the
# reviewed ones as snapshots/<id>.snap.new, never over them; the script shows the
# differences and how to accept or reject them.
#
#   scripts/regenerate-snapshots.sh           regenerate, write .snap.new, show the diff
#   scripts/regenerate-snapshots.sh accept    move every .snap.new over its .snap
#   scripts/regenerate-snapshots.sh reject    delete every .snap.new
#
# CI never writes snapshots (insta does not write when CI is set); this script refuses
# to run there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/snapshots"
shopt -s nullglob

case "${1:-}" in
  accept)
    pending=("$dir"/*.snap.new)
    for new in "${pending[@]}"; do
      # insta records the assertion's line in pending files only; the reviewed files
      # leave it out, so that moving the test does not touch every snapshot.
      sed '/^assertion_line: /d' "$new" >"${new%.new}"
      rm "$new"
    done
    echo "accepted ${#pending[@]} snapshot(s); review and commit snapshots/"
    exit 0
    ;;
  reject)
    pending=("$dir"/*.snap.new)
    rm -f "${pending[@]}"
    echo "rejected ${#pending[@]} snapshot(s)"
    exit 0
    ;;
  "") ;;
  *)
    echo "usage: scripts/regenerate-snapshots.sh [accept|reject]" >&2
    exit 2
    ;;
esac

if [ -n "${CI:-}" ]; then
  echo "regenerate-snapshots: CI is set; CI checks snapshots and never writes them" >&2
  exit 1
fi

"$root/scripts/setup-libtorch.sh"
cd "$root"
rm -f "$dir"/*.snap.new

# INSTA_UPDATE=new writes a .snap.new for every snapshot that differs or is missing;
# INSTA_FORCE_PASS=1 lets the run go on past them, so the test still fails only when a
# case diverges from libtorch.
status=0
INSTA_UPDATE=new INSTA_FORCE_PASS=1 cargo test --test snapshots || status=$?

pending=("$dir"/*.snap.new)
if [ ${#pending[@]} -eq 0 ]; then
  echo
  echo "regenerate-snapshots: every snapshot is up to date"
else
  echo
  echo "regenerate-snapshots: ${#pending[@]} snapshot(s) changed or new:"
  for new in "${pending[@]}"; do
    old="${new%.new}"
    [ -f "$old" ] || old=/dev/null
    diff -u --label "${old#"$root"/}" --label "${new#"$root"/}" \
      "$old" <(sed '/^assertion_line: /d' "$new") || true
  done
  echo
  echo "accept them (move each .snap.new over its .snap):  scripts/regenerate-snapshots.sh accept"
  echo "reject them (delete each .snap.new):               scripts/regenerate-snapshots.sh reject"
  if command -v cargo-insta >/dev/null 2>&1; then
    echo "or review one by one:                              cargo insta review"
  fi
fi
if [ "$status" -ne 0 ]; then
  echo
  echo "regenerate-snapshots: the test failed (a case diverges from libtorch, or a" \
    "snapshot has no catalogue case); see its output above" >&2
fi
exit "$status"
