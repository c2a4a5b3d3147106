#!/usr/bin/env bash
# Fake agent run.sh for test/agent/start.test.ts (see test/agent/fake-agent.ts).
# Records each call, including the environment of its parent (start.sh) as /proc shows it.
set -u
REC="${FAKE_AGENT_RECORD_DIR:?}"
n=0
{ read -r n <"$REC/seq"; } 2>/dev/null || true
n=$((n + 1))
echo "$n" >"$REC/seq"
if (($# > 0)); then printf '%s\0' "$@"; fi >"$REC/$n.run.args"
env -0 >"$REC/$n.run.env"
pwd >"$REC/$n.run.cwd"
cat "/proc/$PPID/environ" >"$REC/$n.run.parent-env" 2>/dev/null || true
echo "$$" >>"$REC/pids"
if [[ ${FAKE_RUN_IGNORE_TERM:-0} == 1 ]]; then
  trap '' TERM INT
else
  trap 'echo "$n TERM" >>"$REC/signals"; exit 143' TERM
  trap 'echo "$n INT" >>"$REC/signals"; exit 130' INT
fi
runs=0
{ read -r runs <"$REC/runs"; } 2>/dev/null || true
runs=$((runs + 1))
echo "$runs" >"$REC/runs"
IFS=, read -r -a codes <<<"${FAKE_RUN_EXIT_CODES:-0}"
code="${codes[runs - 1]:-${codes[${#codes[@]} - 1]}}"
if [[ -n ${FAKE_JOB:-} ]]; then
  # The "job" (a pipeline step): a command run as run.sh's child, words split on spaces.
  IFS=' ' read -r -a job <<<"$FAKE_JOB"
  "${job[@]}" >"$REC/$n.job.out" 2>"$REC/$n.job.err" || echo "$?" >"$REC/$n.job.failed"
fi
: >"$REC/$n.run.started"
echo "fake run.sh: running (call $runs)"
if [[ ${FAKE_RUN_IGNORE_TERM:-0} == 1 ]]; then
  while :; do sleep 0.1; done
fi
# A foreground child stands for Agent.Listener: bash runs the TERM trap only after it ends,
# so a prompt stop shows that start.sh signalled the whole process group.
sleep "${FAKE_RUN_SLEEP:-0}"
echo "fake run.sh: exiting with code $code"
exit "$code"
