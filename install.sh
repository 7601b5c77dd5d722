#!/bin/sh
# Builds mcp-valet with cargo and installs the binary and its shell completions for the
# current user (~/.local by default). Safe to run again: it replaces what it installed.
#
#   ./install.sh                 # ~/.local/bin/mcp-valet and completions under ~/.local/share
#   ./install.sh --prefix /usr/local
set -eu

usage() {
    cat <<'EOF'
Usage: ./install.sh [--prefix DIR]

Builds mcp-valet in release mode and installs:
  DIR/bin/mcp-valet
  DIR/share/bash-completion/completions/mcp-valet
  DIR/share/zsh/site-functions/_mcp-valet
  DIR/share/fish/vendor_completions.d/mcp-valet.fish
DIR defaults to ~/.local.
EOF
}

prefix="${HOME:?HOME is not set}/.local"
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }; prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#--prefix=}"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

here=$(cd "$(dirname "$0")" && pwd)

if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        PATH="$HOME/.cargo/bin:$PATH"
    else
        cat >&2 <<'EOF'
install.sh: cargo was not found.
Install the Rust toolchain first (https://rustup.rs):
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh
then open a new shell (or run: . "$HOME/.cargo/env") and run ./install.sh again.
EOF
        exit 1
    fi
fi

echo "Building mcp-valet (release)…" >&2
cargo build --release --locked --manifest-path "$here/Cargo.toml" >&2
target_dir=$(cd "$here" && cargo metadata --format-version 1 --no-deps 2>/dev/null | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="${target_dir:-$here/target}/release/mcp-valet"
[ -x "$bin" ] || { echo "install.sh: the build did not produce $bin" >&2; exit 1; }

mkdir -p "$prefix/bin" \
    "$prefix/share/bash-completion/completions" \
    "$prefix/share/zsh/site-functions" \
    "$prefix/share/fish/vendor_completions.d"
# Copy then rename, so a running mcp-valet is never overwritten in place.
cp "$bin" "$prefix/bin/.mcp-valet.new"
chmod 0755 "$prefix/bin/.mcp-valet.new"
mv -f "$prefix/bin/.mcp-valet.new" "$prefix/bin/mcp-valet"
cp "$here/completions/mcp-valet.bash" "$prefix/share/bash-completion/completions/mcp-valet"
cp "$here/completions/_mcp-valet" "$prefix/share/zsh/site-functions/_mcp-valet"
cp "$here/completions/mcp-valet.fish" "$prefix/share/fish/vendor_completions.d/mcp-valet.fish"

echo "Installed $prefix/bin/mcp-valet ($("$prefix/bin/mcp-valet" --version))" >&2

# Says plainly when DIR is not on PATH, with the line that puts it there for the user's shell.
path_check() {
    case ":$PATH:" in *":$1:"*) return 0 ;; esac
    case "${SHELL:-}" in
        */zsh) add="echo 'export PATH=\"$1:\$PATH\"' >> ~/.zshrc" ;;
        */fish) add="fish_add_path $1" ;;
        *) add="echo 'export PATH=\"$1:\$PATH\"' >> ~/.bashrc" ;;
    esac
    cat >&2 <<EOF

WARNING: $1 is not on your PATH, so typing \`mcp-valet\` will not find it yet. Run
    $add
and open a new terminal. (MCP clients do not read your shell's PATH: in their configs, use
the absolute path $1/mcp-valet.)
EOF
}
path_check "$prefix/bin"
