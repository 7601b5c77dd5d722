#!/usr/bin/env bash
# A demo a newcomer can watch, in two parts:
#   1. the bundled reference MCP server (the official TypeScript SDK), with mcp-valet between it
#      and a scripted desktop client: each JSON-RPC line that goes in, what comes out on stdout
#      (with its id), what mcp-valet logged on stderr, and a check that every request got
#      exactly one answer;
#   2. a server behind OAuth (the bundled oidc-provider authorization server and a protected MCP
#      server): mcp-valet gets a 401, signs in through the browser (here a scripted one that
#      types the user name and clicks "Allow" on the real login and consent pages), and the
#      client's request is answered once signed in.
# Nothing is written outside a temporary directory: the sign-in is kept in a throw-away
# MCP_VALET_HOME with the file token store, never in your keyring.
#
#   tests/peers/demo.sh            # uses mcp-valet from PATH (./install.sh puts it there)
#   MCP_VALET=target/debug/mcp-valet tests/peers/demo.sh
# Exit status: 0 when both checks pass, 1 otherwise.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
valet="${MCP_VALET:-$(command -v mcp-valet || true)}"
if [ -z "$valet" ] && [ -x "$HOME/.local/bin/mcp-valet" ]; then valet="$HOME/.local/bin/mcp-valet"; fi
[ -n "$valet" ] || { echo "demo: mcp-valet not found; run ./install.sh first (or set MCP_VALET)" >&2; exit 1; }

bash "$here/install.sh"

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' cyan=$'\033[36m' dim=$'\033[2m' off=$'\033[0m'; else bold='' cyan='' dim='' off=''; fi
say() { printf '\n%s%s%s\n' "$bold" "$*" "$off"; }

work="$(mktemp -d "${TMPDIR:-/tmp}/mcp-valet-demo.XXXXXX")"
cleanup() {
  exec 3>&- 4>&- 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# wait_json FILE: the first line a peer printed (its addresses), within 60 s.
wait_json() {
  for _ in $(seq 600); do [ -s "$1" ] && return 0; sleep 0.1; done
  echo "demo: the peer did not start (nothing in $1)" >&2
  return 1
}
field() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").split("\n")[0])[process.argv[2]])' "$1" "$2"; }

# session NAME URL ARGS…: sends $work/NAME.in to `mcp-valet URL ARGS…`, shows both streams,
# then checks the answers. Fails the demo when mcp-valet fails or the check does not pass.
session() {
  local name="$1"; shift
  local in="$work/$name.in" out="$work/$name.out" err="$work/$name.err" st=0 ck=0
  say "Running: mcp-valet $*"
  say "What the client writes to mcp-valet's stdin:"
  while IFS= read -r r; do printf '%s→ %s%s\n' "$cyan" "$r" "$off"; done <"$in"
  "$valet" "$@" <"$in" >"$out" 2>"$err" || st=$?
  say "What mcp-valet writes on stdout (JSON-RPC only; each answer shown with its id):"
  node "$here/demo-check.mjs" "$in" "$out" >"$work/$name.check" || ck=1
  grep -vE 'Check (passed|FAILED)' "$work/$name.check" || true
  say "What mcp-valet logs on stderr (the client shows this in its logs):"
  if [ -s "$err" ]; then sed "s/^/${dim}  /; s/\$/${off}/" "$err"; else echo "  (nothing)"; fi
  echo
  grep -E 'Check (passed|FAILED)' "$work/$name.check"
  if [ "$st" -ne 0 ]; then
    echo "Check FAILED: mcp-valet exited with status $st at the end of its input"
    return 1
  fi
  return "$ck"
}

# --- 1. The reference server, no sign-in ------------------------------------------------
exec 3> >(exec node "$here/server.mjs" --mode stateful-sse --port 0 >"$work/server.json" 2>/dev/null)
wait_json "$work/server.json"
url="$(field "$work/server.json" mcp)"
say "1. Reference server (official MCP TypeScript SDK) listening at $url"
cat >"$work/plain.in" <<'EOF'
{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"demo","version":"1"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
{"jsonrpc":"2.0","id":2,"method":"tools/list"}
{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"Hello through mcp-valet"}}}
{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"progress","arguments":{"steps":3,"delay_ms":200},"_meta":{"progressToken":"demo"}}}
this line is not JSON
EOF
ok=0
MCP_VALET_HOME="$work/home" MCP_VALET_TOKEN_STORE=memory session plain "$url" || ok=1

# --- 2. A server behind OAuth: mcp-valet signs in -----------------------------------------
exec 4> >(exec node "$here/auth/stack.mjs" >"$work/stack.json" 2>/dev/null)
wait_json "$work/stack.json"
mcp="$(field "$work/stack.json" mcp)"
issuer="$(field "$work/stack.json" issuer)"
say "2. A protected MCP server at $mcp, its authorization server (oidc-provider) at $issuer"
echo "   The browser is a scripted user (tests/peers/auth/fakebrowser.mjs) who signs in as \"ada\""
echo "   on the authorization server's real login and consent pages."
cat >"$work/signin.in" <<'EOF'
{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"demo","version":"1"}}}
{"jsonrpc":"2.0","method":"notifications/initialized"}
{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}
EOF
export MCP_VALET_HOME="$work/home" MCP_VALET_TOKEN_STORE=file
export BROWSER="$here/auth/fakebrowser.mjs" FAKE_BROWSER_USER=ada FAKE_BROWSER_LOG="$work/browser.log"
session signin "$mcp" || ok=1
say "What the browser did (tests/peers/auth/fakebrowser.mjs's log; codes and tokens are never logged):"
sed 's/^/  /' "$work/browser.log" 2>/dev/null || echo "  (no browser was opened)"
echo "  mcp-valet held the whoami request through the sign-in, then sent it again with the new token."
if ! grep -qF '\"sub\":\"ada\"' "$work/signin.out"; then
  echo "Check FAILED: whoami did not answer with the signed-in user ada"
  ok=1
fi
say "Running: mcp-valet status   (the login mcp-valet keeps; the tokens themselves are never shown)"
"$valet" status 2>&1 | sed 's/^/  /' || ok=1
say "Running: mcp-valet logout $mcp"
"$valet" logout "$mcp" 2>&1 | sed 's/^/  /' || ok=1

echo
if [ "$ok" -eq 0 ]; then
  say "Demo done: both checks passed."
else
  say "Demo FAILED: see the lines starting with \"Check FAILED\" above."
fi
exit "$ok"
