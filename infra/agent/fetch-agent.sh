#!/usr/bin/env bash
# Build-time step of infra/agent/Dockerfile: download one Azure Pipelines agent package,
# verify its SHA-256 and extract it, so that containers start without downloading anything.
#
# usage: fetch-agent.sh VERSION SHA256 PLATFORM BASE_URL OUT_DIR
#   downloads BASE_URL/VERSION/vsts-agent-PLATFORM-VERSION.tar.gz and extracts it into OUT_DIR.
set -euo pipefail

if (($# != 5)); then
  echo "usage: $0 VERSION SHA256 PLATFORM BASE_URL OUT_DIR" >&2
  exit 2
fi
version=$1 sha256=$2 platform=$3 base=${4%/} out=$5
file="vsts-agent-$platform-$version.tar.gz"
url="$base/$version/$file"

if [[ ! $sha256 =~ ^[0-9a-fA-F]{64}$ ]]; then
  echo "error: the build arg AGENT_SHA256 must be the SHA-256 (64 hex digits) of $file;" >&2
  echo "       the agent's release notes list it, or compute it on a machine you trust" >&2
  exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "downloading $url"
curl -fsSL --retry 5 --retry-delay 2 --connect-timeout 20 -o "$tmp/$file" "$url"
if ! printf '%s  %s\n' "${sha256,,}" "$tmp/$file" | sha256sum -c --status -; then
  echo "error: checksum mismatch for $url" >&2
  echo "       expected $sha256, got $(sha256sum "$tmp/$file" | cut -d' ' -f1)" >&2
  exit 1
fi
mkdir -p "$out"
tar -xzf "$tmp/$file" -C "$out"
echo "agent $version ($platform) extracted into $out"
