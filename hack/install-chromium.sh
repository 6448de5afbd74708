#!/usr/bin/env bash
# Installs Debian's chromium for the visualizer's browser test (test/e2e/viz_test.go) when it is
# missing; prints the browser's path. The test drives it headless with chromedp.
set -euo pipefail
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then command -v "$b"; exit 0; fi
done
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq chromium >&2
command -v chromium
