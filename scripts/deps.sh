#!/usr/bin/env bash
# Installs the Debian packages the field app needs to build and its window tests need to run,
# when any is missing. Used by scripts/test.sh and scripts/demo.sh.
set -euo pipefail
# python3-venv holds aiosmtpd, the SMTP server the notice tests send to.
# dbus and the XDG desktop portal (GTK) give the desktop app its file picker, as a desktop session does.
# chromium runs the portal's and the web app's browser tests (Playwright drives Debian's build);
# webkit2gtk-driver is WebKitGTK's WebDriver, Safari's engine for the iPad tests; clang compiles
# SQLite's C for the web app (wasm32) and brotli compresses its files.
packages=(curl python3 python3-venv clang brotli chromium webkit2gtk-driver libwebkit2gtk-4.1-dev libgtk-3-dev libxdo-dev libssl-dev pkg-config xvfb xauth imagemagick xdotool dbus xdg-desktop-portal xdg-desktop-portal-gtk)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm run the browser tests; a machine may have them from elsewhere (NodeSource).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
