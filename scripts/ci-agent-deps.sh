#!/usr/bin/env bash
# Installs what the agent-image tests (test/agent/) need beyond Node: shellcheck (Debian package).
# Called by .ci/run; safe to run again.
set -euo pipefail

if command -v shellcheck >/dev/null 2>&1; then
  exit 0
fi
sudo_cmd=()
if [[ "$(id -u)" != 0 ]]; then sudo_cmd=(sudo); fi
"${sudo_cmd[@]}" apt-get update
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y --no-install-recommends shellcheck
shellcheck --version
