#!/usr/bin/env bash
# Installs Mesa's software Vulkan (lavapipe, the 25.x series from Debian bookworm-backports, which Dawn needs)
# and the Vulkan loader, so that the `webgpu` backend (Dawn) has an adapter on a machine without a GPU.
# Idempotent: does nothing when a Mesa >= 25 lavapipe ICD and libvulkan1 are already installed.
# Exit status is non-zero when the install fails; .ci/run then still runs the suite, whose WebGPU tests fail
# under CI=true (they never skip there).
set -euo pipefail

have_lavapipe() {
  local v
  v="$(dpkg-query -W -f='${Status} ${Version}' mesa-vulkan-drivers 2>/dev/null || true)"
  [[ "$v" == "install ok installed "* ]] || return 1
  v="${v##* }"                   # e.g. 25.0.7-2~bpo12+1
  v="${v#*:}"                    # drop an epoch
  [ "${v%%.*}" -ge 25 ] 2>/dev/null || return 1
  dpkg-query -W -f='${Status}' libvulkan1 2>/dev/null | grep -q "install ok installed" || return 1
  ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1
}

if have_lavapipe; then
  echo "setup-webgpu: lavapipe $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "setup-webgpu: not root and no sudo: cannot install mesa-vulkan-drivers" >&2; exit 1
  fi
else
  SUDO=""
fi

. /etc/os-release
if [ "${ID:-}" != "debian" ]; then
  echo "setup-webgpu: expected Debian (found ${PRETTY_NAME:-unknown}); install Mesa >= 25 lavapipe yourself" >&2
  exit 1
fi
codename="${VERSION_CODENAME:-bookworm}"

# The backports source, unless some configured source already names it.
if ! grep -rqs -- "${codename}-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "setup-webgpu: adding ${codename}-backports"
  printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$codename" | $SUDO tee /etc/apt/sources.list.d/birdvlm-backports.sources >/dev/null
fi

export DEBIAN_FRONTEND=noninteractive
retry() { local n; for n in 1 2 3; do "$@" && return 0; echo "setup-webgpu: retry $n: $*" >&2; sleep $((n * 5)); done; return 1; }
retry $SUDO apt-get update -q -o Acquire::Retries=3 -o DPkg::Lock::Timeout=600
retry $SUDO apt-get install -y -q -o Acquire::Retries=3 -o DPkg::Lock::Timeout=600 --no-install-recommends \
  -t "${codename}-backports" mesa-vulkan-drivers libvulkan1

if ! have_lavapipe; then
  echo "setup-webgpu: mesa-vulkan-drivers >= 25 with a lavapipe ICD is still missing after the install" >&2
  exit 1
fi
echo "setup-webgpu: installed lavapipe $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
