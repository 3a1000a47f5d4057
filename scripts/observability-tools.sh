#!/usr/bin/env bash
# Installs promtool (Debian's `prometheus`) and amtool (Debian's `prometheus-alertmanager`) when missing,
# for `promtool test rules`, the chaos test (tests/chaos-alerts.test.ts) and `amtool check-config`.
# Exits 0 when both are on PATH afterwards; non-zero when they could not be installed.
set -euo pipefail

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
if [ "${#missing[@]}" -eq 0 ]; then
  echo "observability tools: promtool and amtool present"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
    echo "observability tools: ${missing[*]} missing and not root (no sudo): install them with apt-get" >&2
    exit 1
  fi
fi
echo "observability tools: installing ${missing[*]}"
# Waits up to 5 minutes for another apt run holding the lock instead of failing at once.
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
command -v promtool >/dev/null 2>&1 && command -v amtool >/dev/null 2>&1
promtool --version 2>&1 | head -1
amtool --version 2>&1 | head -1
