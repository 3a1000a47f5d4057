#!/usr/bin/env bash
# Checks deploy/observability: the Prometheus rules (promtool check rules), their unit tests
# (promtool test rules, every rules/*.test.yml) and the Alertmanager config (amtool check-config).
# Needs promtool and amtool: scripts/observability-tools.sh installs them. Exits non-zero on the
# first failure. Run from anywhere: `npm run observability:check`.
set -euo pipefail
cd "$(dirname "$0")/../deploy/observability"

for tool in promtool amtool; do
  command -v "$tool" >/dev/null 2>&1 || { echo "check-observability: $tool is missing (bash scripts/observability-tools.sh)" >&2; exit 1; }
done

echo "== promtool check rules"
promtool check rules rules/*.rules.yml

echo "== promtool test rules"
(cd rules && promtool test rules ./*.test.yml)

echo "== amtool check-config"
# Webhook `url_file` (read by the deployed Alertmanager, v0.26 and later) is unknown to older amtool
# (Debian 12 ships 0.25): for it, check a copy whose url_file lines are url lines, so that every
# other part of the file (routes, receivers, inhibitions) is still checked as written.
amtool_version=$(amtool --version 2>&1 | sed -n 's/^amtool, version \([0-9]*\)\.\([0-9]*\)\..*/\1 \2/p')
read -r major minor <<<"${amtool_version:-0 0}"
if [ "$major" -eq 0 ] && [ "$minor" -lt 26 ]; then
  copy=$(mktemp --suffix=.yml)
  trap 'rm -f "$copy"' EXIT
  sed -E 's|^( *(- )?)url_file: .*$|\1url: http://webhook.invalid/|' alertmanager.yml >"$copy"
  echo "(amtool $major.$minor predates url_file: checking alertmanager.yml with url instead)"
  amtool check-config "$copy"
else
  amtool check-config alertmanager.yml
fi
