#!/usr/bin/env bash
# Runs the whole system on its embedded default: the server on SQLite with fresh demo data on
# 127.0.0.1:8080, and the field app against it (sign in as monitor1 / accredit-demo). Closing
# the app stops the server. Without a display (no $DISPLAY), only the server runs.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cargo build -p accredit-server -p accredit-app
data=$(mktemp -d)
./target/debug/accredit-server demo --addr 127.0.0.1:8080 --data "$data/server" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -fs http://127.0.0.1:8080/healthz >/dev/null 2>&1 && break
  sleep 0.2
done
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "No display: the server runs at http://127.0.0.1:8080 (Ctrl-C to stop)."
  echo "Start the field app where there is a display with: ./target/debug/accredit --server http://127.0.0.1:8080"
  wait $server
else
  ./target/debug/accredit --server http://127.0.0.1:8080 --data-dir "$data/tablet" --photo-dir "${ACCREDIT_PHOTO_DIR:-$HOME/Pictures}"
fi
