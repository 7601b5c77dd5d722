#!/usr/bin/env bash
# Runs (part of) the test suite and reports anything it left behind: files in HOME, files in the
# temporary directory, and mcp-valet keys in the user's kernel keyring (/proc/keys).
#
#   tests/leftovers.sh                         # the whole suite
#   tests/leftovers.sh -E 'test(chromium)'     # extra arguments go to `cargo nextest run`
#
# HOME and TMPDIR point at two fresh directories for the run (CARGO_HOME and RUSTUP_HOME keep
# pointing at the real toolchain), so that anything a test writes into "the user's home" or
# "/tmp" and does not remove shows up there. The kernel keyring is per user, not per run: a key
# listed as new may come from another run of the same user at the same time (say so when the
# machine is shared). Exit status: 0 when nothing was left behind, 1 otherwise, 2 when the tests
# themselves failed.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export PATH="$CARGO_HOME/bin:$PATH"
work="$(mktemp -d "${TMPDIR:-/tmp}/mcp-valet-leftovers.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/home" "$work/tmp"
# npm keeps its cache in HOME: the tests install their peers from lock files, so point the run
# at the real cache (read as a download cache; it is not something the tests leave).
export npm_config_cache="${npm_config_cache:-$HOME/.npm}"
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$HOME/.cache/pip}"

keys() {
  # The descriptions of this user's live mcp-valet keys (an invalidated, revoked, dead or
  # expired key is listed until the kernel collects it: not counted).
  [ -r /proc/keys ] || return 0
  awk '$9 ~ /^mcp-valet:/ && $2 !~ /[iRD]/ && $4 != "expd" { print $9, $10 }' /proc/keys | sort
}
keys >"$work/keys.before"

status=0
HOME="$work/home" TMPDIR="$work/tmp" XDG_CONFIG_HOME= XDG_CACHE_HOME= XDG_DATA_HOME= \
  cargo nextest run --no-fail-fast "$@" || status=2

# Give detached helpers (a browser finishing in the background) a moment, as a user would.
sleep 2
keys >"$work/keys.after"
left=0
report() { printf 'leftovers: %s\n' "$*" >&2; left=1; }
while IFS= read -r f; do report "in HOME: ${f#"$work/home/"}"; done < <(find "$work/home" -mindepth 1 -maxdepth 4 | sort)
while IFS= read -r f; do report "in TMPDIR: ${f#"$work/tmp/"}"; done < <(find "$work/tmp" -mindepth 1 -maxdepth 2 | sort)
while IFS= read -r k; do report "in the kernel keyring: $k bytes"; done < <(comm -13 "$work/keys.before" "$work/keys.after")
if [ "$left" = 0 ]; then
  echo "leftovers: none (HOME, TMPDIR and the kernel keyring as before)" >&2
fi
[ "$status" = 0 ] || { echo "leftovers: the tests failed (exit status 2)" >&2; exit 2; }
exit "$left"
