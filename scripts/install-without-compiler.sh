#!/usr/bin/env bash
# Shows that a laptop without Python, make or a C/C++ compiler can install the project and run
# the parse tests: copies the committed tree (or the commit given as $1) into a temp dir, builds a
# PATH of symlinks to node, npm, git, bash, coreutils and a few archive/text tools only, checks
# that python3, make, cc, gcc, g++ and c++ are NOT on it, then runs `npm ci` and the tests that
# parse PowerShell (tree-sitter-powershell.wasm), Bicep (tree-sitter-bicep.wasm) and the agent's
# shell scripts (shellcheck, when installed) in that clone. Exit 0 only when all of it passed.
# Used by .ci/run; with a warm npm cache `npm ci` takes about half a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
ref="${1:-HEAD}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
t0=$(date +%s)
mkdir -p "$work/repo"
git archive "$(git rev-parse "$ref")" | tar -x -C "$work/repo"
git -C "$work/repo" init --quiet # git check-attr (the LF test) needs a repository

bin="$work/bin"
mkdir -p "$bin"
link() {
  local p
  for name in "$@"; do
    p="$(command -v "$name" 2>/dev/null)" || continue
    ln -sf "$(readlink -f "$p")" "$bin/$name"
  done
}
link node npm npx git bash sh env shellcheck curl tar gzip grep sed awk find xargs which
# coreutils, by the Debian package's list of programs when there is one, else the common ones.
if command -v dpkg >/dev/null 2>&1 && dpkg -L coreutils >/dev/null 2>&1; then
  mapfile -t core < <(dpkg -L coreutils | grep -E '/s?bin/[^/]+$' | xargs -n1 basename)
else
  core=(basename cat chmod cp cut date dirname env head id ln ls mkdir mktemp mv readlink rm sort tail tee touch tr uname wc)
fi
link "${core[@]}"

for tool in python3 python make cc gcc g++ c++ clang; do
  if PATH="$bin" command -v "$tool" >/dev/null 2>&1; then
    echo "install-without-compiler: $tool is on the restricted PATH: the check proves nothing" >&2
    exit 1
  fi
done
echo "restricted PATH: $(ls "$bin" | wc -l) programs; no python3, make, cc, gcc, g++, c++, clang"

cd "$work/repo"
# CC/CXX/PYTHON could point node-gyp at a compiler or Python outside PATH: drop them.
run() { env -u CC -u CXX -u PYTHON -u npm_config_python PATH="$bin" HOME="${HOME:-$work}" "$@"; }
start=$(date +%s)
run npm ci --no-audit --no-fund --prefer-offline
echo "npm ci without a compiler: $(($(date +%s) - start)) s"
start=$(date +%s)
run npx vitest run test/agent/windows-image.test.ts test/infra/bicep.test.ts test/agent/image.test.ts
echo "parse tests: $(($(date +%s) - start)) s"
start=$(date +%s)
echo "install-without-compiler: passed in $(($(date +%s) - t0)) s"
