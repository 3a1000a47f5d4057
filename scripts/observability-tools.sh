#!/usr/bin/env bash
# Installs promtool (Debian package `prometheus`) and amtool (`prometheus-alertmanager`)
# when they are missing, so that scripts/check-observability.sh can run. Idempotent: does
# nothing when both are on PATH. Needs root (or sudo) and apt-get; fails loudly otherwise.
set -euo pipefail

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "observability-tools: ${missing[*]} missing and no apt-get to install them" >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then as_root=(sudo); else
    echo "observability-tools: ${missing[*]} missing; installing them needs root or sudo" >&2
    exit 1
  fi
fi

echo "observability-tools: installing ${missing[*]}"
# Another apt run (a parallel job) holds the lock for a while: wait for it instead of failing.
"${as_root[@]}" apt-get -o DPkg::Lock::Timeout=600 update
# The packages' services are not wanted: policy-rc.d 101 keeps them from starting here.
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"

command -v promtool >/dev/null 2>&1 || { echo "observability-tools: promtool still missing" >&2; exit 1; }
command -v amtool >/dev/null 2>&1 || { echo "observability-tools: amtool still missing" >&2; exit 1; }
