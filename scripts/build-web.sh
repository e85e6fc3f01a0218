#!/usr/bin/env bash
# Builds the field app's web bundle (the installable offline web app that accredit-server serves
# at /app/) without the dx CLI, into target/web-app or the directory given:
#   cargo build --target wasm32-unknown-unknown --features web  ->  wasm-bindgen  ->  hashed files
# Installs what is missing: the wasm32 target, clang (SQLite's C), and wasm-bindgen-cli at the
# exact wasm-bindgen version in Cargo.lock (a different version cannot read the module).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/web-app}"
target_dir="${CARGO_TARGET_DIR:-target}"

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
{ command -v clang && command -v brotli; } >/dev/null || scripts/deps.sh
want=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "== installing wasm-bindgen-cli $want"
  # Without --locked: the CLI's own lock file names a version no longer in the registry.
  cargo install -q wasm-bindgen-cli --version "$want"
fi

echo "== building the web app (wasm32, profile web)"
cargo build -q -p accredit-app --bin accredit --target wasm32-unknown-unknown \
  --no-default-features --features web --profile web
pkg="$target_dir/web-pkg"
rm -rf "$pkg"
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
  --out-dir "$pkg" --out-name accredit \
  "$target_dir/wasm32-unknown-unknown/web/accredit.wasm"
# binaryen's wasm-opt from npm (Debian's is too old to read this module), pinned.
tools="$target_dir/tools"
if [ ! -x "$tools/node_modules/.bin/wasm-opt" ]; then
  mkdir -p "$tools"
  (cd "$tools" && npm install --no-audit --no-fund --loglevel=error binaryen@132.0.0 >/dev/null)
fi
"$tools/node_modules/.bin/wasm-opt" -Oz --strip-debug --strip-producers \
  "$pkg/accredit_bg.wasm" -o "$pkg/accredit_bg.opt.wasm"
mv "$pkg/accredit_bg.opt.wasm" "$pkg/accredit_bg.wasm"

stage=$(mktemp -d "${out%/*}/web-app.XXXXXX")
trap 'rm -rf "$stage"' EXIT
web=app/web
hashed() { # FILE STEM EXT -> copies FILE into the stage as STEM-<hash>.EXT and prints the name
  local name="$2-$(sha256sum "$1" | cut -c1-10).$3"
  cp "$1" "$stage/$name"
  echo "$name"
}
wasm=$(hashed "$pkg/accredit_bg.wasm" accredit_bg wasm)
cp -r "$pkg/snippets" "$stage/snippets" 2>/dev/null || true
glue=$(hashed "$pkg/accredit.js" accredit js)
worker=$(hashed "$web/storage-worker.js" storage-worker js)
icon192=$(hashed "$web/icon-192.png" icon-192 png)
icon512=$(hashed "$web/icon-512.png" icon-512 png)
shell=$(hashed "$web/shell.css" shell css)
fill() { # replaces the placeholders in a template
  sed -e "s|__WASM__|./$wasm|g" -e "s|__GLUE__|./$glue|g" -e "s|__WORKER__|./$worker|g" \
      -e "s|__ICON192__|$icon192|g" -e "s|__ICON512__|$icon512|g" -e "s|__SHELLCSS__|$shell|g" "$1"
}
fill "$web/boot.js" > "$stage/boot.tmp"
boot=$(hashed "$stage/boot.tmp" boot js)
rm "$stage/boot.tmp"
fill "$web/manifest.webmanifest" > "$stage/manifest.webmanifest"
fill "$web/index.html" | sed -e "s|__BOOT__|./$boot|g" > "$stage/index.html"

# The service worker keeps every file but itself; its version changes with any of them, which
# is how browsers learn of a new deployment.
files=$(cd "$stage" && find . -type f | sed 's|^\./||' | sort)
version=$(cd "$stage" && sha256sum $files | sha256sum | cut -c1-12)
list=$(printf '"./"'; for f in $files; do [ "$f" = index.html ] || printf ', "./%s"' "$f"; done)
sed -e "s|__VERSION__|$version|" -e "s|__FILES__|[$list]|" "$web/sw.js" > "$stage/sw.js"

# Compressed copies beside each file (brotli, and gzip for browsers without it): the server
# sends what the browser accepts, so a tablet on mobile data downloads a fraction of the bytes.
find "$stage" -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.html' -o -name '*.css' -o -name '*.webmanifest' \) \
  -exec gzip -9 -k -n {} \; -exec brotli -q 11 -k {} \;
chmod -R a+rX "$stage"
rm -rf "$out.old"
[ -d "$out" ] && mv "$out" "$out.old"
mv "$stage" "$out"
rm -rf "$out.old"
trap - EXIT
echo "== web app $version in $out: wasm $(stat -c %s "$out/$wasm") bytes ($(stat -c %s "$out/$wasm.br") brotli, $(stat -c %s "$out/$wasm.gz") gzip)"
