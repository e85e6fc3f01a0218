#!/usr/bin/env bash
# Runs every check and test of the workspace on a fresh Debian machine with Rust.
# Installs what such a machine lacks first: the rustfmt and clippy components, and the Debian
# packages the field app builds against and its window tests run under, and Chromium for the
# portal's browser tests (scripts/deps.sh); then the browser tests' npm packages, and the web
# app's bundle (scripts/build-web.sh: the wasm32 target and wasm-bindgen-cli if missing), and
# Python's aiosmtpd for the email notice tests.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v rustup >/dev/null 2>&1; then
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
  done
fi

./scripts/deps.sh
echo "== npm packages for the browser tests and the JS Automerge client test"
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
(cd tests/clients && npm ci --no-audit --no-fund --loglevel=error)

echo "== aiosmtpd (a real SMTP server on 127.0.0.1 for the notice tests), in a virtualenv"
if ! target/smtp-venv/bin/python -c "import aiosmtpd" >/dev/null 2>&1; then
  python3 -m venv target/smtp-venv
  target/smtp-venv/bin/pip install --quiet --disable-pip-version-check aiosmtpd==1.4.6
fi

echo "== the field web app (wasm32)"
./scripts/build-web.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy (all targets, -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p accredit-app --target wasm32-unknown-unknown --no-default-features --features web --locked -- -D warnings
echo "== cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked 2>&1 | tee "$log" || status=$?
# cargo closes on its last test binary (often doc-tests with none); close on the whole run instead.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "total: %d passed, %d failed, %d skipped\n", p, f, i }' "$log"
exit "$status"
