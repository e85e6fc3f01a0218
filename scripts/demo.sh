#!/usr/bin/env bash
# Runs the whole system on its embedded default: the server on SQLite with fresh demo data on
# 127.0.0.1:8080, the field web app it serves at http://127.0.0.1:8080/app/, and the desktop
# field app against it (sign in as monitor1 / accredit-demo). Closing the desktop app stops the
# server. Without a display (no $DISPLAY), the server and the web app run alone.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cargo build -p accredit-server -p accredit-app
./scripts/build-web.sh
data=$(mktemp -d)
./target/debug/accredit-server demo --addr 127.0.0.1:8080 --data "$data/server" --web-app target/web-app &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -fs http://127.0.0.1:8080/healthz >/dev/null 2>&1 && break
  sleep 0.2
done
echo "The field web app: http://127.0.0.1:8080/app/ (install it from the browser's menu)."
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "No display: the server runs at http://127.0.0.1:8080 (Ctrl-C to stop)."
  echo "Start the field app where there is a display with: ./target/debug/accredit --server http://127.0.0.1:8080"
  wait $server
else
  ./target/debug/accredit --server http://127.0.0.1:8080 --data-dir "$data/tablet" --photo-dir "${ACCREDIT_PHOTO_DIR:-$HOME/Pictures}"
fi
