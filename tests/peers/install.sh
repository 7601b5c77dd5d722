#!/usr/bin/env bash
# Installs the reference MCP peers' dependencies into tests/peers/:
#   node_modules/  from package-lock.json   (npm ci)
#   .venv/         from requirements.lock   (pip install --require-hashes)
# Idempotent: each part is redone only when its lock file (or the interpreter)
# changed since the last successful install, as recorded in .stamp-node /
# .stamp-python. Safe to run concurrently: everything happens under an exclusive
# lock on .stamp.lock (flock(1), or perl's flock where util-linux is missing, as on
# macOS). Prints nothing on stdout; progress and errors go to stderr.
# Needs: node >= 20.19 + npm, python3 >= 3.10 (with venv/ensurepip; or
# MCP_VALET_PYTHON=/path/to/python3.x), flock or perl, sha256sum or shasum, and
# access to the npm registry and PyPI.
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$DIR"

say() { printf 'install.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found on PATH ($2)"
}
need node "the Node.js peers need Node.js >= 20.19"
need npm "the Node.js peers are installed with npm ci"

# The SHA-256 of stdin, in hex: coreutils' sha256sum, or shasum (macOS, the BSDs).
if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256() { shasum -a 256 | cut -d' ' -f1; }
else
  die "neither sha256sum (coreutils) nor shasum (perl) is on PATH: one fingerprints the lock files"
fi

# An exclusive lock on FILE, held through file descriptor 9 until this script ends. flock(1)
# from util-linux; elsewhere perl's flock(2) on the same descriptor (a lock belongs to the open
# file, which this shell keeps open after perl has exited).
lock() {
  exec 9>"$1"
  if command -v flock >/dev/null 2>&1; then
    flock -w 900 9
  elif command -v perl >/dev/null 2>&1; then
    perl -MFcntl=:flock -e 'open(my $fh, ">&=", 9) or die "fd 9: $!\n"; my $end = time + 900;
      until (flock($fh, LOCK_EX | LOCK_NB)) { exit 1 if time > $end; select(undef, undef, undef, 0.2) }'
  else
    die "neither flock (util-linux) nor perl is on PATH: one serialises concurrent installs"
  fi
}

# Node.js >= 20.19: the auth peers' oidc-provider and the TypeScript SDK v2 require it.
node --input-type=commonjs -e '
  const [a, b] = process.versions.node.split(".").map(Number);
  process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
  || die "Node.js >= 20.19 required, found $(node --version) (https://nodejs.org, or your package manager's nodejs 22)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"

# Python >= 3.10: MCP_VALET_PYTHON, else the first new enough of python3, python3.13 … python3.10
# (macOS's own python3 is 3.9; Homebrew's python@3.12 installs python3.12).
python=""
for p in ${MCP_VALET_PYTHON:-} python3 python3.14 python3.13 python3.12 python3.11 python3.10; do
  if command -v "$p" >/dev/null 2>&1 \
    && "$p" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
    python="$p"
    break
  fi
done
[ -n "$python" ] || die "Python >= 3.10 required, found $(python3 --version 2>&1 || echo none) (set MCP_VALET_PYTHON to one, e.g. Homebrew's python3.12)"

lock "$DIR/.stamp.lock" || die "timed out waiting for the lock on $DIR/.stamp.lock"

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
node_want="$(sha256 < package-lock.json) node$node_major"
if [ ! -f node_modules/@modelcontextprotocol/sdk/package.json ] \
  || [ "$(cat .stamp-node 2>/dev/null || true)" != "$node_want" ]; then
  say "installing the Node.js peers' packages (npm ci)"
  rm -f .stamp-node
  run_logged "npm ci" npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
  printf '%s\n' "$node_want" > .stamp-node
fi

# --- Node: the auth peers (oidc-provider, the protected MCP server, playwright-core) ---
auth_want="$(sha256 < auth/package-lock.json) node$node_major"
if [ ! -f auth/node_modules/oidc-provider/package.json ] \
  || [ "$(cat .stamp-auth 2>/dev/null || true)" != "$auth_want" ]; then
  say "installing the auth peers' packages (npm ci in auth/)"
  rm -f .stamp-auth
  run_logged "npm ci (auth)" npm ci --prefix auth --no-audit --no-fund --ignore-scripts --loglevel=error
  printf '%s\n' "$auth_want" > .stamp-auth
fi

# --- Python: mcp (official SDK) + uvicorn ---------------------------------
py_version="$("$python" -c 'import sys; print(sys.version.split()[0])')"
py_want="$(sha256 < requirements.lock) python$py_version"
if [ ! -x .venv/bin/python ] || [ "$(cat .stamp-python 2>/dev/null || true)" != "$py_want" ]; then
  say "installing the Python peer's packages (venv + pip --require-hashes)"
  rm -f .stamp-python
  rm -rf .venv
  if ! "$python" -m venv .venv >"$LOG" 2>&1; then
    cat "$LOG" >&2
    die "$python -m venv failed (on Debian: apt-get install python3-venv)"
  fi
  run_logged "pip install" .venv/bin/python -m pip install --disable-pip-version-check --no-input \
    --quiet --require-hashes -r requirements.lock
  run_logged "the Python peers' import check" .venv/bin/python -c 'import mcp.server.mcpserver, mcp.client, uvicorn'
  printf '%s\n' "$py_want" > .stamp-python
fi
