#!/usr/bin/env bash
# Installs uv and pipx (tests/packages/requirements.lock, pip --require-hashes) into
# tests/packages/.venv for tests/it/packages.rs, which runs `uvx` and `pipx run` on the wheel
# that dist/package-wheel built. Redone only when the lock file or the interpreter changed
# (recorded in .stamp); safe to run concurrently (flock). Nothing on stdout.
# Needs: python3 >= 3.10 with venv, flock, sha256sum, and PyPI.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$DIR"
die() { printf 'tests/packages/install.sh: error: %s\n' "$*" >&2; exit 1; }
for tool in python3 flock sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found on PATH"
done
exec 9>"$DIR/.stamp.lock"
flock -w 600 9 || die "timed out waiting for the lock on $DIR/.stamp.lock"
want="$(sha256sum < requirements.lock | cut -d' ' -f1) $(python3 -c 'import sys; print(sys.version.split()[0])')"
if [ -x .venv/bin/uv ] && [ -x .venv/bin/pipx ] && [ "$(cat .stamp 2>/dev/null || true)" = "$want" ]; then
  exit 0
fi
printf 'tests/packages/install.sh: installing uv and pipx (venv + pip --require-hashes)\n' >&2
rm -rf .venv .stamp
LOG="$(mktemp "${TMPDIR:-/tmp}/mcp-valet-packages-install.XXXXXX")"
trap 'rm -f "$LOG"' EXIT
python3 -m venv .venv >"$LOG" 2>&1 || { cat "$LOG" >&2; die "python3 -m venv failed (on Debian: apt-get install python3-venv)"; }
.venv/bin/python -m pip install --disable-pip-version-check --no-input --quiet --require-hashes \
  -r requirements.lock >"$LOG" 2>&1 || { cat "$LOG" >&2; die "pip install -r requirements.lock failed"; }
printf '%s\n' "$want" > .stamp
