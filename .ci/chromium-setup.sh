#!/usr/bin/env bash
# Installs Debian's chromium (headless browser for the HTML report test) when it is missing.
# Safe to re-run; never fails the CI job: without chromium the browser test is skipped with a note.
set -uo pipefail
for name in chromium chromium-browser google-chrome; do
  if command -v "$name" >/dev/null 2>&1; then
    echo "chromium-setup: $name already installed ($("$name" --version 2>/dev/null | head -1))"
    exit 0
  fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium-setup: note: no apt-get here; the headless browser test will be skipped"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "chromium-setup: note: not root and no sudo; the headless browser test will be skipped"
    exit 0
  fi
fi
if $SUDO apt-get update -qq \
  && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core >/dev/null; then
  echo "chromium-setup: installed $(chromium --version 2>/dev/null | head -1)"
else
  echo "chromium-setup: note: chromium could not be installed; the headless browser test will be skipped"
fi
exit 0
