#!/usr/bin/env bash
# Fake agent config.sh for test/agent/start.test.ts (see test/agent/fake-agent.ts).
# Records each call; configure writes .agent, `remove` deletes it, like the real agent.
set -u
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REC="${FAKE_AGENT_RECORD_DIR:?}"
n=0
{ read -r n <"$REC/seq"; } 2>/dev/null || true
n=$((n + 1))
echo "$n" >"$REC/seq"
kind=config
if [[ ${1:-} == remove ]]; then kind=remove; fi
if (($# > 0)); then printf '%s\0' "$@"; fi >"$REC/$n.$kind.args"
env -0 >"$REC/$n.$kind.env"
pwd >"$REC/$n.$kind.cwd"
echo "$$" >>"$REC/pids"
if [[ $kind == remove ]]; then
  if [[ ${FAKE_REMOVE_HANG:-0} == 1 ]]; then sleep 30; fi
  failed=0
  { read -r failed <"$REC/remove-failures"; } 2>/dev/null || true
  if [[ ${FAKE_REMOVE_FAIL:-0} == always ]] || ((failed < ${FAKE_REMOVE_FAIL:-0})); then
    echo $((failed + 1)) >"$REC/remove-failures"
    echo "fake config.sh: agent removal failed" >&2
    exit 1
  fi
  rm -f "$DIR/.agent"
  echo "fake config.sh: agent removed"
  exit 0
fi
if [[ ${FAKE_CONFIG_EXIT:-0} != 0 ]]; then
  echo "fake config.sh: configuration failed" >&2
  exit "$FAKE_CONFIG_EXIT"
fi
echo '{"agentName":"fake"}' >"$DIR/.agent"
echo "fake config.sh: agent configured"
