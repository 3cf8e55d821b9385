#!/usr/bin/env bash
# Makes sure a Chromium is on PATH for fwbench.book.pagecheck, installing Debian's chromium package if none is.
set -uo pipefail

for name in chromium chromium-browser; do
    if command -v "$name" >/dev/null 2>&1; then
        exit 0
    fi
done

fail() { echo "setup_chromium: $1" >&2; exit 1; }

command -v apt-get >/dev/null 2>&1 || fail "no chromium on PATH and no apt-get to install it; install Chromium by hand"
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif ! command -v sudo >/dev/null 2>&1; then
    fail "no chromium on PATH; installing it needs root or sudo (apt-get install chromium)"
elif sudo -n true 2>/dev/null || [ -t 0 ]; then
    sudo=(sudo)
else
    # With no terminal a password prompt can only fail, later and less clearly.
    fail "no chromium on PATH; installing it needs root or passwordless sudo (apt-get install chromium)"
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
apt() { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q "$@" >"$log" 2>&1; }
why() { grep -v '^\s*$' "$log" | tail -n 1; }

# A fresh image often has empty package lists: only then pay for an update.
if ! apt install -y --no-install-recommends chromium; then
    apt update || fail "apt-get update failed: $(why)"
    apt install -y --no-install-recommends chromium || fail "apt-get install chromium failed: $(why)"
fi
command -v chromium >/dev/null 2>&1 || fail "chromium was installed but is not on PATH"
echo "chromium ready: $(command -v chromium)"
