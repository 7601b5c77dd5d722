#!/usr/bin/env bash
# A demo a newcomer can watch: starts the bundled reference MCP server (the official
# TypeScript SDK), then plays a desktop MCP client through mcp-valet over stdio, printing
# each JSON-RPC line that goes in and comes out.
#
#   tests/peers/demo.sh            # uses mcp-valet from PATH (./install.sh puts it there)
#   MCP_VALET=target/debug/mcp-valet tests/peers/demo.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
valet="${MCP_VALET:-$(command -v mcp-valet || true)}"
if [ -z "$valet" ] && [ -x "$HOME/.local/bin/mcp-valet" ]; then valet="$HOME/.local/bin/mcp-valet"; fi
[ -n "$valet" ] || { echo "demo: mcp-valet not found; run ./install.sh first (or set MCP_VALET)" >&2; exit 1; }

bash "$here/install.sh"

server_out="$(mktemp)"
exec 3> >(node "$here/server.mjs" --mode stateful-sse --port 0 >"$server_out" 2>/dev/null)
trap 'exec 3>&-; rm -f "$server_out"' EXIT
for _ in $(seq 100); do [ -s "$server_out" ] && break; sleep 0.1; done
url="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).mcp)' "$server_out")"

say() { printf '\n\033[1m%s\033[0m\n' "$*" >&2; }
say "Reference server (official MCP TypeScript SDK) listening at $url"
say "Running: $valet $url"

requests=(
  '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"demo","version":"1"}}}'
  '{"jsonrpc":"2.0","method":"notifications/initialized"}'
  '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
  '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"Hello through mcp-valet"}}}'
  '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"progress","arguments":{"steps":3,"delay_ms":200},"_meta":{"progressToken":"demo"}}}'
  'this line is not JSON'
)
for r in "${requests[@]}"; do printf '\033[36m→ %s\033[0m\n' "$(cut -c1-160 <<<"$r")" >&2; done
say "mcp-valet's stdout (JSON-RPC only; logs would go to stderr):"
printf '%s\n' "${requests[@]}" | "$valet" "$url" | while IFS= read -r line; do
  printf '\033[32m← %s\033[0m\n' "$(cut -c1-160 <<<"$line")"
done
say "Done: every request got exactly one answer, and mcp-valet exited 0 at the end of input."
