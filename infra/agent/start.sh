#!/usr/bin/env bash
# Entrypoint of the azp-aci-autoscaler agent image (infra/agent/Dockerfile).
#
# Registers an Azure Pipelines agent and runs it (for one job when started by the autoscaler).
# Settings, modes and exit codes: infra/agent/README.md.
#
# Differences from the "Run a self-hosted agent in Docker" seed script:
#   * the agent is normally baked into the image; it is downloaded only when none is there;
#   * the token (PAT or service-principal secret) is needed only to register. It never reaches a
#     command line, a file, the agent's capabilities or the environment of the agent and its
#     jobs: it is held in a shell variable, handed to config.sh through the VSTS_AGENT_INPUT_*
#     variables, and dropped as soon as config.sh succeeded: this script then executes itself
#     again (a fresh process image, without the secret variables in its environment) before
#     run.sh starts. A job running as the same user finds it in no file, no /proc/*/environ and
#     no /proc/*/cmdline;
#   * so it does not unregister the agent when it stops: the autoscaler removes the registration
#     of a finished container group. AZP_UNREGISTER_ON_EXIT=1 (for a `docker run` without the
#     autoscaler) keeps the token, in a process the job cannot read where the kernel allows it,
#     to unregister on exit; README.md says what that costs;
#   * a stop (SIGTERM/SIGINT) stops the whole agent process tree;
#   * run modes: once (one job, the autoscaler's default), placeholder (register, keep the
#     registration, run nothing), service (run until stopped).
set -euo pipefail

readonly EX_USAGE=1          # a setting is missing or wrong, or the agent could not be set up
readonly EX_CLEANUP_FAILED=75 # everything worked except unregistering the agent
readonly SP_MIN_AGENT_VERSION=3.227.1

# Logging never fails the script (a closed stdout must not cut a cleanup short).
log() { printf '[start.sh] %s\n' "$*" 2>/dev/null || true; }
warn() { printf '[start.sh] warning: %s\n' "$*" >&2 2>/dev/null || true; }
err() { printf '[start.sh] error: %s\n' "$*" >&2 2>/dev/null || true; }
die() {
  err "$*"
  exit "$EX_USAGE"
}

# ---------------------------------------------------------------------------------------------
# Stages. This script runs twice in the same process: "setup" (validate, download the agent if
# needed, register) holds the token; once config.sh succeeded it executes itself again as "run"
# (start run.sh, stop it on SIGTERM), which holds no token unless AZP_UNREGISTER_ON_EXIT=1.
# _AZP_START_STAGE is internal: it only tells the second execution where it is.
# ---------------------------------------------------------------------------------------------
STAGE="${_AZP_START_STAGE:-setup}"
unset _AZP_START_STAGE
[[ $STAGE == setup || $STAGE == run ]] || die "_AZP_START_STAGE is internal to start.sh"

# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------
AZP_HOME="${AZP_HOME:-/azp}"
AZP_AGENT_DIR="${AZP_AGENT_DIR:-$AZP_HOME/agent}"
# An execute-only copy of bash (AZP_UNREGISTER_ON_EXIT=1 only, see keeper_bash).
KEEPER_BASH="$AZP_HOME/.start-bash"

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

# read_secret_file PATH: print the file's content without trailing newlines / carriage return.
read_secret_file() {
  local value
  value="$(<"$1")"
  printf '%s' "${value%$'\r'}"
}

# check_secret VALUE_VAR FILE_VAR: append an error unless one of the two holds a secret.
check_secret() {
  local value_var=$1 file_var=$2
  local file="${!file_var:-}"
  if [[ -n $file ]]; then
    if [[ ! -f $file || ! -r $file ]]; then
      ERRORS+=("$file_var=$file is not a readable file")
    elif [[ -z "$(read_secret_file "$file")" ]]; then
      ERRORS+=("$file_var=$file is empty")
    fi
  elif [[ -z ${!value_var:-} ]]; then
    ERRORS+=("missing $value_var or $file_var environment variable")
  fi
}

validate_settings() {
  ERRORS=()
  [[ -n ${AZP_URL:-} ]] || ERRORS+=("missing AZP_URL environment variable")

  AUTH="${AZP_AUTH:-pat}"
  AUTH="${AUTH,,}"
  case "$AUTH" in
    pat) [[ $STAGE == run ]] || check_secret AZP_TOKEN AZP_TOKEN_FILE ;;
    sp)
      [[ -n ${AZP_SP_CLIENT_ID:-} ]] || ERRORS+=("missing AZP_SP_CLIENT_ID environment variable (AZP_AUTH=sp)")
      [[ -n ${AZP_SP_TENANT_ID:-} ]] || ERRORS+=("missing AZP_SP_TENANT_ID environment variable (AZP_AUTH=sp)")
      [[ $STAGE == run ]] || check_secret AZP_SP_CLIENT_SECRET AZP_SP_CLIENT_SECRET_FILE
      ;;
    *) ERRORS+=("AZP_AUTH must be 'pat' or 'sp', not '$AUTH'") ;;
  esac

  if [[ -n ${AZP_RUN_MODE:-} ]]; then
    RUN_MODE="${AZP_RUN_MODE,,}"
  elif [[ ${AZP_AUTOSCALER:-} == 1 ]]; then
    RUN_MODE=once
  else
    RUN_MODE=service
  fi
  case "$RUN_MODE" in
    once | placeholder | service) ;;
    *) ERRORS+=("AZP_RUN_MODE must be 'once', 'placeholder' or 'service', not '$RUN_MODE'") ;;
  esac

  case "${AZP_UNREGISTER_ON_EXIT:-0}" in
    0 | 1) ;;
    *) ERRORS+=("AZP_UNREGISTER_ON_EXIT must be 0 or 1, not '$AZP_UNREGISTER_ON_EXIT'") ;;
  esac

  local name value
  for name in AZP_CLEANUP_RETRIES AZP_CLEANUP_RETRY_DELAY AZP_CLEANUP_TIMEOUT AZP_STOP_TIMEOUT \
    AZP_UPDATE_RESTARTS AZP_UPDATE_DELAY; do
    value="${!name:-}"
    if [[ -n $value ]] && ! is_uint "$value"; then
      ERRORS+=("$name must be a whole number, not '$value'")
    fi
  done
  if [[ ${AZP_CLEANUP_RETRIES:-} == 0 ]]; then
    ERRORS+=("AZP_CLEANUP_RETRIES must be at least 1")
  fi

  if ((${#ERRORS[@]} > 0)); then
    local e
    for e in "${ERRORS[@]}"; do err "$e"; done
    err "see infra/agent/README.md for the settings of this image"
    exit "$EX_USAGE"
  fi
}

validate_settings

AZP_URL="${AZP_URL%/}"
POOL="${AZP_POOL:-Default}"
AGENT_NAME="${AZP_AGENT_NAME:-${HOSTNAME:-azp-agent}}"
WORK="${AZP_WORK:-_work}"
UNREGISTER_ON_EXIT="${AZP_UNREGISTER_ON_EXIT:-0}"
CLEANUP_RETRIES="${AZP_CLEANUP_RETRIES:-3}"
CLEANUP_RETRY_DELAY="${AZP_CLEANUP_RETRY_DELAY:-5}"
CLEANUP_TIMEOUT="${AZP_CLEANUP_TIMEOUT:-30}"
STOP_TIMEOUT="${AZP_STOP_TIMEOUT:-20}"
UPDATE_RESTARTS="${AZP_UPDATE_RESTARTS:-3}"
UPDATE_DELAY="${AZP_UPDATE_DELAY:-5}"

# ---------------------------------------------------------------------------------------------
# Secrets live in shell variables only: PAT (the PAT, also used to look up the agent package)
# and SP_SECRET (the service principal's client secret). No file is ever written, so nothing is
# left on disk whatever kills this script. The environment variables they came in are unset
# here, so no child inherits them; /proc/<pid>/environ of this process still shows the
# environment it started with until the run stage replaces the process image.
# ---------------------------------------------------------------------------------------------
PAT=""
SP_SECRET=""
TOKEN_FILE_GIVEN="${AZP_TOKEN_FILE:-}"
if [[ -n ${AZP_SP_CLIENT_SECRET_FILE:-} ]]; then
  TOKEN_FILE_GIVEN="${TOKEN_FILE_GIVEN:+$TOKEN_FILE_GIVEN and }$AZP_SP_CLIENT_SECRET_FILE"
fi
if [[ $STAGE == setup ]]; then
  if [[ -n ${AZP_TOKEN_FILE:-} ]]; then
    PAT="$(read_secret_file "$AZP_TOKEN_FILE")"
  else
    PAT="${AZP_TOKEN:-}"
  fi
  if [[ -n ${AZP_SP_CLIENT_SECRET_FILE:-} ]]; then
    SP_SECRET="$(read_secret_file "$AZP_SP_CLIENT_SECRET_FILE")"
  else
    SP_SECRET="${AZP_SP_CLIENT_SECRET:-}"
  fi
elif ((UNREGISTER_ON_EXIT)); then
  # Handed over by the setup stage on file descriptor 3 (a pipe), never through the environment.
  IFS= read -r -u 3 SECRET_IN || true
  exec 3<&-
  case "$AUTH" in
    pat) PAT="$SECRET_IN" ;;
    sp) SP_SECRET="$SECRET_IN" ;;
  esac
  unset SECRET_IN
fi
unset AZP_TOKEN AZP_TOKEN_FILE AZP_SP_CLIENT_SECRET AZP_SP_CLIENT_SECRET_FILE \
  VSTS_AGENT_INPUT_TOKEN VSTS_AGENT_INPUT_CLIENTSECRET
# Belt and braces: every environment variable of the agent becomes a capability, shown in the
# pool's UI, unless it is listed here.
if [[ $STAGE == setup ]]; then
  VSO_AGENT_IGNORE="${VSO_AGENT_IGNORE:+$VSO_AGENT_IGNORE,}AZP_TOKEN,AZP_TOKEN_FILE,AZP_SP_CLIENT_SECRET,AZP_SP_CLIENT_SECRET_FILE,VSTS_AGENT_INPUT_TOKEN,VSTS_AGENT_INPUT_CLIENTSECRET"
  export VSO_AGENT_IGNORE
fi

if ((EUID == 0)) && [[ $STAGE == setup ]]; then
  warn "running as root; the image runs as the 'agent' user, prefer that"
fi
if ((EUID == 0)); then export AGENT_ALLOW_RUNASROOT=1; fi

# The agent's own auth arguments; its secret goes through the environment (export_secret_inputs).
case "$AUTH" in
  pat) AUTH_ARGS=(--auth pat) ;;
  sp) AUTH_ARGS=(--auth SP --clientId "$AZP_SP_CLIENT_ID" --tenantId "$AZP_SP_TENANT_ID") ;;
esac

export_secret_inputs() {
  case "$AUTH" in
    pat) export VSTS_AGENT_INPUT_TOKEN="$PAT" ;;
    sp) export VSTS_AGENT_INPUT_CLIENTSECRET="$SP_SECRET" ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# Child processes: each runs in its own session, so a stop can signal its whole tree
# (run.sh -> Agent.Listener -> Agent.Worker -> the job's processes).
#
# A signal must never find a child that is running but not yet in CHILD_PID: bash runs a trap
# between any two commands, so one arriving between `( ... ) &` and `CHILD_PID=$!` would see no
# child, exit, and leave the agent running. While SPAWNING, the traps only note the signal;
# spawn acts on it once CHILD_PID is set.
# ---------------------------------------------------------------------------------------------
SETSID=()
if command -v setsid >/dev/null 2>&1; then SETSID=(setsid); fi
CHILD_PID=""
SPAWNING=0
PENDING_SIGNAL=""

# spawn WITH_SECRET CMD...: start CMD in the agent directory, in the background.
spawn() {
  local with_secret=$1
  shift
  SPAWNING=1
  (
    cd "$AZP_AGENT_DIR"
    if ((with_secret)); then export_secret_inputs; fi
    exec "${SETSID[@]}" "$@"
  ) &
  CHILD_PID=$!
  SPAWNING=0
  if [[ -n $PENDING_SIGNAL ]]; then
    local sig=$PENDING_SIGNAL
    PENDING_SIGNAL=""
    on_signal "$sig"
  fi
}

# shellcheck disable=SC2317 # reached from the traps below, which shellcheck does not follow
is_alive() {
  local stat state
  if [[ ! -d /proc/$$ ]]; then
    kill -0 "$1" 2>/dev/null
    return
  fi
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  state="${stat##*) }"
  state="${state%% *}"
  [[ $state != Z && $state != X ]]
}

# shellcheck disable=SC2317 # reached from the traps below, which shellcheck does not follow
signal_tree() {
  local sig=$1 pid=$2
  if ((${#SETSID[@]} > 0)); then
    kill -s "$sig" -- "-$pid" 2>/dev/null || kill -s "$sig" "$pid" 2>/dev/null || true
  else
    kill -s "$sig" "$pid" 2>/dev/null || true
  fi
}

# shellcheck disable=SC2317 # reached from the traps below, which shellcheck does not follow
stop_child() {
  local pid="$CHILD_PID"
  [[ -n $pid ]] || return 0
  CHILD_PID=""
  if is_alive "$pid"; then
    log "stopping the agent (pid $pid), waiting up to ${STOP_TIMEOUT}s"
    signal_tree TERM "$pid"
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while is_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    if is_alive "$pid"; then
      warn "the agent did not stop within ${STOP_TIMEOUT}s; killing it"
      signal_tree KILL "$pid"
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# Exit: stop the agent; unregister it only with AZP_UNREGISTER_ON_EXIT=1 (otherwise the
# autoscaler removes the registration of a finished container group).
# ---------------------------------------------------------------------------------------------
KEEP_REGISTRATION=0

is_configured() { [[ -f $AZP_AGENT_DIR/.agent ]]; }

# shellcheck disable=SC2317 # reached from the traps below, which shellcheck does not follow
kill_leftovers() {
  # As PID 1 of a container, kill(-1) reaches every other process in it: job processes that left
  # the agent's process group must not be running while the token is in config.sh's environment.
  if (($$ == 1)); then kill -s KILL -1 2>/dev/null || true; fi
}

# shellcheck disable=SC2317 # reached from the traps below, which shellcheck does not follow
unregister_agent() {
  local attempt
  local -a limit=()
  if command -v timeout >/dev/null 2>&1; then limit=(timeout -k 5 "$CLEANUP_TIMEOUT"); fi
  kill_leftovers
  for ((attempt = 1; attempt <= CLEANUP_RETRIES; attempt++)); do
    log "unregistering agent '$AGENT_NAME' (attempt $attempt of $CLEANUP_RETRIES)"
    if (
      cd "$AZP_AGENT_DIR"
      export_secret_inputs
      exec "${limit[@]}" ./config.sh remove --unattended "${AUTH_ARGS[@]}"
    ); then
      log "agent '$AGENT_NAME' unregistered"
      return 0
    fi
    if ((attempt < CLEANUP_RETRIES)); then sleep "$CLEANUP_RETRY_DELAY"; fi
  done
  err "could not unregister agent '$AGENT_NAME' after $CLEANUP_RETRIES attempts;" \
    "the autoscaler removes registrations whose container is gone"
  return 1
}

# shellcheck disable=SC2317 # reached from the traps below, which shellcheck does not follow
finish() {
  local rc=$1
  trap - EXIT
  # A handler, not '', so that the commands below still get the default dispositions.
  trap 'log "already stopping"' INT TERM
  stop_child
  if ((UNREGISTER_ON_EXIT && !KEEP_REGISTRATION)) && is_configured; then
    if ! unregister_agent && ((rc == 0)); then rc=$EX_CLEANUP_FAILED; fi
  fi
  PAT=""
  SP_SECRET=""
  log "exiting with code $rc"
  exit "$rc"
}

# shellcheck disable=SC2317 # reached from the traps below, which shellcheck does not follow
on_signal() {
  if ((SPAWNING)); then
    log "received SIG$1 while starting a process; acting on it once it has started"
    PENDING_SIGNAL=$1
    return 0
  fi
  log "received SIG$1"
  case "$1" in
    INT) finish 130 ;;
    *) finish 143 ;;
  esac
}

trap 'finish $?' EXIT
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM

# ---------------------------------------------------------------------------------------------
# The agent: baked into the image, or downloaded (the seed's slow path).
# ---------------------------------------------------------------------------------------------
AGENT_VERSION=""

version_ge() {
  local -a a b
  local i
  IFS=. read -r -a a <<<"$1"
  IFS=. read -r -a b <<<"$2"
  for i in 0 1 2; do
    if ((10#${a[i]:-0} > 10#${b[i]:-0})); then return 0; fi
    if ((10#${a[i]:-0} < 10#${b[i]:-0})); then return 1; fi
  done
  return 0
}

agent_present() { [[ -f $AZP_AGENT_DIR/config.sh && -f $AZP_AGENT_DIR/run.sh ]]; }

detect_platform() {
  local os=linux arch
  [[ -f /etc/alpine-release ]] && os=linux-musl
  case "$(uname -m)" in
    aarch64 | arm64) arch=arm64 ;;
    armv7* | armhf) arch=arm ;;
    *) arch=x64 ;;
  esac
  printf '%s-%s' "$os" "$arch"
}

basic_auth() {
  printf ':%s' "$PAT" | base64 | tr -d '\n'
}

download_agent() {
  local platform="${AZP_AGENT_PLATFORM:-$(detect_platform)}"
  local url="${AZP_AGENT_PACKAGE_URL:-}" meta
  log "no agent in $AZP_AGENT_DIR: downloading one (bake the agent into the image to skip this)"
  if [[ -z $url ]]; then
    [[ -n $PAT ]] ||
      die "no agent in $AZP_AGENT_DIR and no AZP_TOKEN to look one up: build the image with the agent, or set AZP_AGENT_PACKAGE_URL"
    log "looking up the latest $platform agent at $AZP_URL"
    # The credentials go to curl on stdin (-K -), never on its command line.
    meta="$(printf 'header = "Authorization: Basic %s"\n' "$(basic_auth)" |
      curl -fsS --retry 3 --connect-timeout 10 --max-time 60 -K - \
        -H 'Accept: application/json' \
        "$AZP_URL/_apis/distributedtask/packages/agent?platform=$platform&top=1")" ||
      die "could not list agent packages at $AZP_URL: check AZP_URL and that the token may read agent pools"
    url="$(jq -r '.value[0].downloadUrl // empty' <<<"$meta")" || url=""
    [[ -n $url ]] || die "could not determine a matching agent package for $platform at $AZP_URL"
    AGENT_VERSION="$(jq -r '.value[0].version | "\(.major).\(.minor).\(.patch)"' <<<"$meta" 2>/dev/null)" ||
      AGENT_VERSION=""
  fi
  local archive="$AZP_HOME/agent-package.tar.gz"
  log "downloading $url"
  curl -fsSL --retry 3 --connect-timeout 10 --max-time 600 -o "$archive" "$url" ||
    die "could not download the agent from $url"
  if [[ -n ${AZP_AGENT_PACKAGE_SHA256:-} ]]; then
    printf '%s  %s\n' "$AZP_AGENT_PACKAGE_SHA256" "$archive" | sha256sum -c --status - || {
      rm -f "$archive"
      die "checksum mismatch for $url (expected sha256 $AZP_AGENT_PACKAGE_SHA256)"
    }
  else
    warn "AZP_AGENT_PACKAGE_SHA256 is not set: the downloaded agent is not checksum-verified"
  fi
  mkdir -p "$AZP_AGENT_DIR"
  tar -xzf "$archive" -C "$AZP_AGENT_DIR" || die "could not extract $archive"
  rm -f "$archive"
  agent_present || die "the package from $url has no config.sh and run.sh"
}

prepare_agent() {
  if agent_present; then
    AGENT_VERSION="${AZP_AGENT_BAKED_VERSION:-}"
    log "using the agent baked into the image${AGENT_VERSION:+ (version $AGENT_VERSION)}"
  else
    download_agent
  fi
  chmod u+x "$AZP_AGENT_DIR/config.sh" "$AZP_AGENT_DIR/run.sh" 2>/dev/null || true

  if [[ $AUTH == sp && $AGENT_VERSION =~ ^[0-9]+(\.[0-9]+)*$ ]] &&
    ! version_ge "$AGENT_VERSION" "$SP_MIN_AGENT_VERSION"; then
    die "AZP_AUTH=sp needs agent $SP_MIN_AGENT_VERSION or newer; this agent is $AGENT_VERSION"
  fi
}

# ---------------------------------------------------------------------------------------------
# Configure
# ---------------------------------------------------------------------------------------------
register_agent() {
  if is_configured; then
    # Left by an earlier start of this container; --replace takes the registration over.
    log "removing the local configuration left by an earlier start"
    rm -f "$AZP_AGENT_DIR/.agent" "$AZP_AGENT_DIR/.credentials" "$AZP_AGENT_DIR/.credentials_rsaparams"
  fi
  if [[ $WORK == /* ]]; then mkdir -p "$WORK"; fi

  log "registering agent '$AGENT_NAME' in pool '$POOL' at $AZP_URL (auth $AUTH, mode $RUN_MODE)"
  spawn 1 ./config.sh --unattended --url "$AZP_URL" "${AUTH_ARGS[@]}" --pool "$POOL" \
    --agent "$AGENT_NAME" --work "$WORK" --replace --acceptTeeEula
  local rc=0
  wait "$CHILD_PID" || rc=$?
  CHILD_PID=""
  ((rc == 0)) || die "agent configuration failed (config.sh exited with code $rc)"
}

# ---------------------------------------------------------------------------------------------
# Hand-over to the run stage: this process image (whose memory and /proc/<pid>/environ hold the
# token) is replaced by a fresh bash running this script again, without the secret variables.
# With AZP_UNREGISTER_ON_EXIT=1 the token goes along on file descriptor 3 (a pipe: bash 5.1+
# writes a short here-string into one; older bash uses a temporary file it deletes right after
# opening it), to a bash that jobs cannot read, see keeper_bash.
# ---------------------------------------------------------------------------------------------

# keeper_bash: print the path of an execute-only copy of bash. Executing a program one may not
# read makes the process non-dumpable (execve(2), PR_SET_DUMPABLE in prctl(2)): processes of the
# same user can then not open its /proc/<pid>/environ, mem or fd/, nor ptrace it. This does not
# hold for root (who may read any file, so the copy stays dumpable); the run stage checks.
keeper_bash() {
  rm -f "$KEEPER_BASH"
  cp "$BASH" "$KEEPER_BASH" && chmod 0111 "$KEEPER_BASH" || return 1
  printf '%s' "$KEEPER_BASH"
}

hand_over() {
  if [[ -n $TOKEN_FILE_GIVEN ]]; then
    warn "the secret file $TOKEN_FILE_GIVEN stays readable by jobs: start.sh cannot delete a file it did" \
      "not create (e.g. on a read-only secret volume); pass the secret as an environment variable" \
      "(a secureValue) instead"
  fi
  export _AZP_START_STAGE=run
  if ((UNREGISTER_ON_EXIT)); then
    local keeper secret
    keeper="$(keeper_bash)" || {
      warn "could not create $KEEPER_BASH; keeping the token for unregistering in a plain bash"
      keeper="$BASH"
    }
    case "$AUTH" in
      pat) secret="$PAT" ;;
      sp) secret="$SP_SECRET" ;;
    esac
    exec "$keeper" "${BASH_SOURCE[0]}" "$@" 3<<<"$secret"
  fi
  exec "$BASH" "${BASH_SOURCE[0]}" "$@"
}

if [[ $STAGE == setup ]]; then
  prepare_agent
  register_agent
  if [[ $RUN_MODE == placeholder ]]; then
    KEEP_REGISTRATION=1
    log "placeholder mode: agent '$AGENT_NAME' registered; exiting without running a job (the registration stays)"
    exit 0
  fi
  log "agent '$AGENT_NAME' registered; dropping the token before the agent runs"
  trap - EXIT
  hand_over "$@"
fi

# ---------------------------------------------------------------------------------------------
# Run (the second execution of this script)
# ---------------------------------------------------------------------------------------------
if ((UNREGISTER_ON_EXIT)); then
  rm -f "$KEEPER_BASH"
  if [[ -d /proc/$$ ]] && (: <"/proc/$$/environ") 2>/dev/null; then
    warn "AZP_UNREGISTER_ON_EXIT=1: other processes of this user can read this one's memory (running" \
      "as root?), so a job can read the token kept for unregistering"
  fi
else
  log "the agent will not unregister itself on exit (the autoscaler removes the registration;" \
    "AZP_UNREGISTER_ON_EXIT=1 for a container without it)"
fi

RUN_ARGS=()
if [[ $RUN_MODE == once ]]; then
  has_once=0
  for arg in "$@"; do [[ ${arg,,} == --once ]] && has_once=1; done
  ((has_once)) || RUN_ARGS+=(--once)
fi
RUN_ARGS+=("$@")

restarts=0
while :; do
  log "starting the agent: run.sh ${RUN_ARGS[*]}"
  spawn 0 ./run.sh "${RUN_ARGS[@]}"
  rc=0
  wait "$CHILD_PID" || rc=$?
  CHILD_PID=""
  if ((rc == 4 && restarts < UPDATE_RESTARTS)); then
    restarts=$((restarts + 1))
    log "the agent exited with code 4 (it updated itself without running a job);" \
      "starting it again in ${UPDATE_DELAY}s ($restarts of $UPDATE_RESTARTS)"
    sleep "$UPDATE_DELAY" &
    wait $! || true
    continue
  fi
  break
done

log "the agent exited with code $rc"
exit "$rc"
