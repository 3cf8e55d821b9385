#!/usr/bin/env bash
# Installs MathJax 3 from the npm registry and copies the parts the book uses to
# .fwbench/static/mathjax, so pages render math with no CDN and no network.
set -euo pipefail
cd "$(dirname "$0")/.."
version=3.2.2
npm install --prefix .fwbench/npm "mathjax@${version}" --no-audit --no-fund --loglevel=error
src=.fwbench/npm/node_modules/mathjax/es5
dest=.fwbench/static/mathjax
rm -rf "$dest"
mkdir -p "$dest/output/chtml/fonts"
cp "$src/tex-chtml.js" "$dest/"
cp -r "$src/output/chtml/fonts/woff-v2" "$dest/output/chtml/fonts/"
for d in input ui a11y sre; do cp -r "$src/$d" "$dest/"; done
echo "MathJax ${version} ready in $dest"
