#!/bin/sh
# Installs mcp-valet and its shell completions for the current user (~/.local by default; no
# root needed). Safe to run again: it replaces what it installed.
#
# A prebuilt binary is used when the release has one for this machine (Linux x86_64 and
# aarch64, static); the archive's SHA-256 checksum is checked before anything is written.
# Otherwise (another platform, no release reachable, or --from-source) it builds with cargo
# from this checkout.
#
#   ./install.sh                 # ~/.local/bin/mcp-valet and completions under ~/.local/share
#   ./install.sh --prefix /usr/local
#   MCP_VALET_RELEASE_URL=/path/to/dist/out ./install.sh     # a local release directory
set -eu

# Where the release archives live (MCP_VALET_RELEASE_URL overrides it: an http(s):// or
# file:// URL, or a directory path).
default_release_url="https://github.com/mcp-valet/mcp-valet/releases/latest/download"

usage() {
    cat <<'EOF'
Usage: ./install.sh [--prefix DIR] [--from-source]

Installs:
  DIR/bin/mcp-valet
  DIR/share/bash-completion/completions/mcp-valet
  DIR/share/zsh/site-functions/_mcp-valet
  DIR/share/fish/vendor_completions.d/mcp-valet.fish
DIR defaults to ~/.local.

A prebuilt binary is downloaded from $MCP_VALET_RELEASE_URL (a URL or a local directory;
default: the project's releases) when one exists for this platform, and its SHA-256 checksum
is verified. --from-source (or no prebuilt binary) builds it with cargo instead.
EOF
}

prefix="${HOME:?HOME is not set}/.local"
from_source=0
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }; prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#--prefix=}"; shift ;;
        --from-source) from_source=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

here=$(cd "$(dirname "$0")" && pwd)
release_url="${MCP_VALET_RELEASE_URL:-$default_release_url}"

# The release target for this machine, or nothing when there is no prebuilt binary for it.
platform_target() {
    case "$(uname -s)" in
        Linux)
            case "$(uname -m)" in
                x86_64|amd64) echo x86_64-unknown-linux-musl ;;
                aarch64|arm64) echo aarch64-unknown-linux-musl ;;
            esac ;;
    esac
}

# fetch NAME DEST: copies one file of the release to DEST; fails quietly when it is not there.
fetch() {
    case "$release_url" in
        http://*|https://*)
            if command -v curl >/dev/null 2>&1; then
                curl -fsSL --proto '=http,https' -o "$2" "$release_url/$1" 2>/dev/null
            elif command -v wget >/dev/null 2>&1; then
                wget -q -O "$2" "$release_url/$1"
            else
                return 1
            fi ;;
        file://*) cp "${release_url#file://}/$1" "$2" 2>/dev/null ;;
        *) cp "$release_url/$1" "$2" 2>/dev/null ;;
    esac
}

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d' ' -f1
    else return 1; fi
}

# Puts the binary and the completions in place: copy, then rename, so a running mcp-valet is
# never overwritten in place.
install_files() { # BIN COMPLETIONS_DIR
    mkdir -p "$prefix/bin" \
        "$prefix/share/bash-completion/completions" \
        "$prefix/share/zsh/site-functions" \
        "$prefix/share/fish/vendor_completions.d"
    cp "$1" "$prefix/bin/.mcp-valet.new"
    chmod 0755 "$prefix/bin/.mcp-valet.new"
    mv -f "$prefix/bin/.mcp-valet.new" "$prefix/bin/mcp-valet"
    cp "$2/mcp-valet.bash" "$prefix/share/bash-completion/completions/mcp-valet"
    cp "$2/_mcp-valet" "$prefix/share/zsh/site-functions/_mcp-valet"
    cp "$2/mcp-valet.fish" "$prefix/share/fish/vendor_completions.d/mcp-valet.fish"
}

# Tries the prebuilt binary. Returns 1 (to build from source) when there is none for this
# platform or the release cannot be reached; exits on a checksum mismatch or a bad archive.
install_prebuilt() {
    target=$(platform_target)
    if [ -z "$target" ]; then
        echo "No prebuilt binary for $(uname -s) $(uname -m); building from source." >&2
        return 1
    fi
    name="mcp-valet-$target"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    if ! fetch "$name.tar.gz" "$work/$name.tar.gz" || ! fetch "$name.tar.gz.sha256" "$work/sum"; then
        echo "No prebuilt binary for $target at $release_url; building from source." >&2
        return 1
    fi
    expected=$(cut -d' ' -f1 < "$work/sum")
    actual=$(sha256 "$work/$name.tar.gz") || {
        echo "install.sh: cannot verify the download: neither sha256sum nor shasum was found; install coreutils, or use --from-source." >&2
        exit 1
    }
    if [ "$expected" != "$actual" ]; then
        echo "install.sh: checksum mismatch for $name.tar.gz from $release_url (expected $expected, got $actual): the download is corrupt or not the release; nothing was installed. Download it again, or build from source with --from-source." >&2
        exit 1
    fi
    tar -xzf "$work/$name.tar.gz" -C "$work" || {
        echo "install.sh: $name.tar.gz from $release_url is not a readable archive; nothing was installed. Download it again, or use --from-source." >&2
        exit 1
    }
    [ -x "$work/$name/mcp-valet" ] || {
        echo "install.sh: $name.tar.gz holds no mcp-valet binary; nothing was installed. Use --from-source." >&2
        exit 1
    }
    "$work/$name/mcp-valet" --version >/dev/null 2>&1 || {
        echo "install.sh: the prebuilt binary for $target does not run on this machine; nothing was installed. Use --from-source." >&2
        exit 1
    }
    echo "Installing the prebuilt $name ($(cat "$work/$name/VERSION" 2>/dev/null || echo "?")), checksum verified…" >&2
    install_files "$work/$name/mcp-valet" "$work/$name/completions"
    return 0
}

install_from_source() {
    [ -f "$here/Cargo.toml" ] || {
        echo "install.sh: no prebuilt binary to install and no source here to build from; run install.sh from a clone of the repository." >&2
        exit 1
    }
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
    cargo build --release --locked --manifest-path "$here/Cargo.toml" >&2 || {
        echo "install.sh: the build failed (see above); nothing was installed." >&2
        exit 1
    }
    target_dir=$(cd "$here" && cargo metadata --format-version 1 --no-deps 2>/dev/null | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    bin="${target_dir:-$here/target}/release/mcp-valet"
    [ -x "$bin" ] || { echo "install.sh: the build did not produce $bin" >&2; exit 1; }
    install_files "$bin" "$here/completions"
}

if [ "$from_source" = 1 ] || ! install_prebuilt; then
    install_from_source
fi

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
