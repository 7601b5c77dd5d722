#!/usr/bin/env bash
# Makes a private wine prefix in which mcp-valet's Windows build runs under Debian bookworm's
# wine 8.0, for tests only, and prints its path (give it to wine as WINEPREFIX):
#
#   tests/wine/prefix.sh [DIR]        # default: target/wine-prefix
#
# The prefix gets bcryptprimitives.dll (tests/wine/bcryptprimitives.c, built here with
# mingw-w64's gcc) in its system32: wine 8.0 lacks that DLL, which Rust's standard library
# imports on Windows. Nothing from here goes into a release. Needs wine64 and
# gcc-mingw-w64-x86-64 (apt-get install wine wine64 gcc-mingw-w64-x86-64). Done once per DIR;
# again when the shim's source is newer than the DLL. Run wine in it with WINEPREFIX and TMPDIR
# both set to the printed path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=${1:-$here/../../target/wine-prefix}
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
wine64=$(command -v wine64 || echo /usr/lib/wine/wine64)
[ -x "$wine64" ] || { echo "tests/wine/prefix.sh: no wine64 (apt-get install wine wine64)" >&2; exit 1; }
command -v x86_64-w64-mingw32-gcc >/dev/null \
  || { echo "tests/wine/prefix.sh: no x86_64-w64-mingw32-gcc (apt-get install gcc-mingw-w64-x86-64)" >&2; exit 1; }
# TMPDIR: Debian's wine keeps wineserver's socket in $TMPDIR/wine-XXXXXX and leaves it there;
# inside the prefix it goes away with it. Everything that runs wine in this prefix sets the same.
export WINEPREFIX=$prefix TMPDIR=$prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
# Tests run side by side: one makes the prefix, the others wait for it.
exec 9>"$prefix.lock"
flock 9
if [ ! -f "$prefix/system.reg" ]; then
  # No Mono or Gecko (the overrides above): nothing here needs .NET or a browser engine.
  "$wine64" wineboot --init >/dev/null 2>&1 || true
  wineserver -w   # until wineboot's work is written out
fi
sys32=$prefix/drive_c/windows/system32
[ -d "$sys32" ] || { echo "tests/wine/prefix.sh: wineboot made no $sys32" >&2; exit 1; }
dll=$sys32/bcryptprimitives.dll
if [ ! -f "$dll" ] || [ "$here/bcryptprimitives.c" -nt "$dll" ]; then
  x86_64-w64-mingw32-gcc -shared -O2 -s -o "$dll.new" "$here/bcryptprimitives.c" -lbcrypt
  mv -f "$dll.new" "$dll"
fi
echo "$prefix"
