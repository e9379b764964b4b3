#!/usr/bin/env bash
# Installs Debian's chromium for the web demo's browser test (examples/web/page.test.ts, driven by playwright-core).
# Idempotent: does nothing when /usr/bin/chromium (or $BIRDVLM_CHROMIUM) already runs.
# Exit status is non-zero when the install fails; .ci/run then still runs the suite, whose page test fails under
# CI=true (it never skips there).
set -euo pipefail

chromium="${BIRDVLM_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$chromium" ] && "$chromium" --version >/dev/null 2>&1; then
  echo "setup-chromium: $("$chromium" --version 2>/dev/null | head -1) already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "setup-chromium: not root and no sudo: cannot install chromium" >&2; exit 1
  fi
else
  SUDO=""
fi

. /etc/os-release
if [ "${ID:-}" != "debian" ]; then
  echo "setup-chromium: expected Debian (found ${PRETTY_NAME:-unknown}); install chromium yourself or set BIRDVLM_CHROMIUM" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
retry() { local n; for n in 1 2 3; do "$@" && return 0; echo "setup-chromium: retry $n: $*" >&2; sleep $((n * 5)); done; return 1; }
retry $SUDO apt-get update -q -o Acquire::Retries=3 -o DPkg::Lock::Timeout=600
retry $SUDO apt-get install -y -q -o Acquire::Retries=3 -o DPkg::Lock::Timeout=600 --no-install-recommends chromium

if ! "$chromium" --version >/dev/null 2>&1; then
  echo "setup-chromium: $chromium still does not run after the install" >&2
  exit 1
fi
echo "setup-chromium: installed $("$chromium" --version 2>/dev/null | head -1)"
