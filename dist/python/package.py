#!/usr/bin/env python3
"""Builds the npm packages and the Python wheels from prebuilt release binaries.

    package.py npm   OUTDIR     (dist/package-npm OUTDIR)
    package.py wheel OUTDIR     (dist/package-wheel OUTDIR)

Reads OUTDIR/bin/<rust-target>/mcp-valet[.exe] and OUTDIR/VERSION (else the version in
Cargo.toml), and writes OUTDIR/npm/*.tgz (the launcher `mcp-valet` and one `@mcp-valet/<os>-<cpu>`
package per platform, with `npm pack`) or OUTDIR/python/*.whl (one binary-only wheel per
platform, written here: a zip with the binary as mcp_valet-<ver>.data/scripts/mcp-valet), each
directory with a SHA256SUMS. Everything is built in a staging directory beside the result and
moved into place at the end, so a failure leaves the previous npm/ or python/ as it was. Errors
are one line on stderr (exit 1; 2 for usage). Python >= 3.8 and the standard library only (npm
for `npm pack`).
"""

import base64
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
DIST = os.path.dirname(HERE)
REPO = os.path.dirname(DIST)
NAME = "mcp-valet"

# rust target -> (node os, node cpu, binary format, machine); the order decides which of two
# targets for one platform wins: the first (musl, static) over the later (gnu, dynamic).
TARGETS = {
    "x86_64-unknown-linux-musl": ("linux", "x64", "elf", "x86_64"),
    "x86_64-unknown-linux-gnu": ("linux", "x64", "elf", "x86_64"),
    "aarch64-unknown-linux-musl": ("linux", "arm64", "elf", "aarch64"),
    "aarch64-unknown-linux-gnu": ("linux", "arm64", "elf", "aarch64"),
    "x86_64-pc-windows-gnu": ("win32", "x64", "pe", "x86_64"),
    "x86_64-pc-windows-msvc": ("win32", "x64", "pe", "x86_64"),
    "aarch64-pc-windows-msvc": ("win32", "arm64", "pe", "aarch64"),
    "x86_64-apple-darwin": ("darwin", "x64", "macho", "x86_64"),
    "aarch64-apple-darwin": ("darwin", "arm64", "macho", "aarch64"),
}

ELF_MACHINES = {62: "x86_64", 183: "aarch64"}
PE_MACHINES = {0x8664: "x86_64", 0xAA64: "aarch64"}
MACHO_CPUS = {0x01000007: "x86_64", 0x0100000C: "aarch64"}


class Fail(Exception):
    pass


def exe_name(target):
    return NAME + ".exe" if TARGETS[target][2] == "pe" else NAME


def read_version(outdir):
    path = os.path.join(outdir, "VERSION")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            version = f.read().strip()
        source = path
    else:
        source = os.path.join(REPO, "Cargo.toml")
        version = None
        in_package = False
        with open(source, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line.startswith("["):
                    in_package = line == "[package]"
                elif in_package:
                    m = re.match(r'version\s*=\s*"([^"]*)"', line)
                    if m:
                        version = m.group(1)
                        break
        if version is None:
            raise Fail("no version: %s is missing and %s has no [package] version" % (path, source))
    if not re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", version):
        raise Fail("%r in %s is not a version like 1.2.3 or 1.2.3-rc.1" % (version, source))
    return version


def elf_info(data):
    """(machine, interpreter or None) of a 64-bit little-endian ELF file."""
    if len(data) < 64 or data[4] != 2 or data[5] != 1:
        return None, None
    machine = ELF_MACHINES.get(struct.unpack_from("<H", data, 18)[0])
    phoff = struct.unpack_from("<Q", data, 32)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    interp = None
    for i in range(phnum):
        off = phoff + i * phentsize
        if off + 56 > len(data):
            break
        if struct.unpack_from("<I", data, off)[0] == 3:  # PT_INTERP
            p_offset = struct.unpack_from("<Q", data, off + 8)[0]
            p_filesz = struct.unpack_from("<Q", data, off + 32)[0]
            interp = data[p_offset : p_offset + p_filesz].rstrip(b"\0").decode("latin-1")
    return machine, interp


def binary_format(data):
    """(format, machine, interpreter) of an executable's bytes, or (None, None, None)."""
    if data[:4] == b"\x7fELF":
        machine, interp = elf_info(data)
        return "elf", machine, interp
    if data[:2] == b"MZ" and len(data) >= 0x40:
        pe = struct.unpack_from("<I", data, 0x3C)[0]
        if data[pe : pe + 4] == b"PE\0\0":
            return "pe", PE_MACHINES.get(struct.unpack_from("<H", data, pe + 4)[0]), None
    if data[:4] == b"\xcf\xfa\xed\xfe":
        return "macho", MACHO_CPUS.get(struct.unpack_from("<I", data, 4)[0]), None
    return None, None, None


class Binary:
    def __init__(self, target, path, data):
        self.target = target
        self.path = path
        self.data = data
        self.os, self.cpu, fmt, machine = TARGETS[target]
        got_fmt, got_machine, self.interp = binary_format(data)
        if (got_fmt, got_machine) != (fmt, machine):
            raise Fail(
                "%s is not a %s %s executable (found: %s %s): is it in the right bin/ directory?"
                % (path, machine, fmt.upper(), got_machine or "unknown", (got_fmt or "file").upper())
            )

    @property
    def platform(self):
        return "%s-%s" % (self.os, self.cpu)

    @property
    def exe(self):
        return exe_name(self.target)

    def libc(self):
        """For Linux: None when static (any libc), else "glibc" or "musl"."""
        if self.os != "linux" or not self.interp:
            return None
        return "musl" if "musl" in self.interp else "glibc"


def find_binaries(outdir):
    """The binaries in OUTDIR/bin, one per platform (musl before gnu), or Fail."""
    bindir = os.path.join(outdir, "bin")
    if not os.path.isdir(bindir):
        raise Fail("%s does not exist: expected %s/<rust-target>/%s[.exe] (run dist/build first)" % (bindir, bindir, NAME))
    entries = sorted(os.listdir(bindir))
    unknown = [e for e in entries if e not in TARGETS]
    if unknown:
        raise Fail("%s/%s is not a target this packaging knows (known: %s)" % (bindir, unknown[0], ", ".join(TARGETS)))
    chosen = {}
    for target in TARGETS:
        if target not in entries:
            continue
        path = os.path.join(bindir, target, exe_name(target))
        if not os.path.isfile(path):
            raise Fail("%s is missing: %s/%s holds no binary" % (path, bindir, target))
        with open(path, "rb") as f:
            data = f.read()
        b = Binary(target, path, data)
        if b.platform not in chosen:
            chosen[b.platform] = b
    if not chosen:
        raise Fail("no binaries in %s: expected %s/<rust-target>/%s[.exe] (run dist/build first)" % (bindir, bindir, NAME))
    return list(chosen.values())


def stage(outdir, name):
    os.makedirs(outdir, exist_ok=True)
    d = tempfile.mkdtemp(prefix=".%s.partial-" % name, dir=outdir)
    os.chmod(d, 0o755)
    return d


def publish(outdir, name, staging):
    """Moves STAGING to OUTDIR/NAME, replacing what was there."""
    final = os.path.join(outdir, name)
    old = None
    if os.path.exists(final):
        old = tempfile.mkdtemp(prefix=".%s.old-" % name, dir=outdir)
        os.rename(final, os.path.join(old, name))
    os.rename(staging, final)
    if old:
        shutil.rmtree(old)
    return final


def write_sums(directory, names):
    lines = []
    for n in sorted(names):
        with open(os.path.join(directory, n), "rb") as f:
            lines.append("%s  %s\n" % (hashlib.sha256(f.read()).hexdigest(), n))
    with open(os.path.join(directory, "SHA256SUMS"), "w", encoding="utf-8") as f:
        f.writelines(lines)


# --- npm --------------------------------------------------------------------------------------


def npm_pack(src, dest):
    npm = shutil.which("npm")
    if not npm:
        raise Fail("npm is not on PATH: it packs the .tgz files (install Node.js >= 18)")
    p = subprocess.run(
        [npm, "pack", "--json", "--ignore-scripts", "--pack-destination", dest, src],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false"),
    )
    if p.returncode != 0:
        last = (p.stderr.decode(errors="replace").strip().splitlines() or ["(no output)"])[-1]
        raise Fail("npm pack %s failed: %s" % (src, last))
    return json.loads(p.stdout)[0]["filename"]


def package_npm(outdir):
    version = read_version(outdir)
    binaries = find_binaries(outdir)
    staging = stage(outdir, "npm")
    try:
        work = os.path.join(staging, ".work")
        files = []
        with open(os.path.join(DIST, "npm", "platform", "README.md"), encoding="utf-8") as f:
            platform_readme = f.read()
        for b in binaries:
            d = os.path.join(work, b.platform)
            os.makedirs(os.path.join(d, "bin"))
            manifest = {
                "name": "@%s/%s" % (NAME, b.platform),
                "version": version,
                "description": "The %s binary for %s (%s)" % (NAME, b.platform, b.target),
                "license": "MIT OR Apache-2.0",
                "os": [b.os],
                "cpu": [b.cpu],
                "files": ["bin/" + b.exe],
                "preferUnplugged": True,
            }
            if b.libc():
                manifest["libc"] = [b.libc()]
            with open(os.path.join(d, "package.json"), "w", encoding="utf-8") as f:
                json.dump(manifest, f, indent=2)
                f.write("\n")
            with open(os.path.join(d, "README.md"), "w", encoding="utf-8") as f:
                f.write(platform_readme.format(platform=b.platform, target=b.target, version=version))
            exe = os.path.join(d, "bin", b.exe)
            with open(exe, "wb") as f:
                f.write(b.data)
            os.chmod(exe, 0o755)
            files.append(npm_pack(d, staging))

        d = os.path.join(work, NAME)
        shutil.copytree(os.path.join(DIST, "npm", NAME), d)
        with open(os.path.join(d, "package.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        manifest["version"] = version
        manifest["optionalDependencies"] = {"@%s/%s" % (NAME, b.platform): version for b in binaries}
        with open(os.path.join(d, "package.json"), "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
        readme = os.path.join(d, "README.md")
        with open(readme, encoding="utf-8") as f:
            text = f.read()
        with open(readme, "w", encoding="utf-8") as f:
            f.write(text.replace("{platforms}", ", ".join(sorted(b.platform for b in binaries))))
        os.chmod(os.path.join(d, "bin", NAME), 0o755)
        files.append(npm_pack(d, staging))

        shutil.rmtree(work)
        write_sums(staging, files)
        final = publish(outdir, "npm", staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for n in files:
        print(os.path.join(final, n))


# --- Python wheels ----------------------------------------------------------------------------


def pep440(version):
    m = re.fullmatch(r"(\d+\.\d+\.\d+)(?:-(alpha|beta|rc)\.?(\d+))?", version)
    if not m:
        raise Fail("version %s has no PEP 440 equivalent (use 1.2.3 or 1.2.3-alpha.N/-beta.N/-rc.N)" % version)
    base, pre, n = m.groups()
    return base + ({"alpha": "a", "beta": "b", "rc": "rc"}[pre] + n if pre else "")


def glibc_needed(data):
    versions = {tuple(int(x) for x in m) for m in re.findall(rb"GLIBC_(\d+)\.(\d+)", data)}
    return max(versions | {(2, 17)})


def wheel_tag(b):
    arch = b.cpu.replace("x64", "x86_64").replace("arm64", "aarch64")
    if b.os == "linux":
        libc = b.libc()
        if libc is None:  # static: any glibc and any musl
            return "manylinux_2_17_{a}.manylinux2014_{a}.musllinux_1_1_{a}".format(a=arch)
        if libc == "musl":
            return "musllinux_1_2_%s" % arch
        major, minor = glibc_needed(b.data)
        tag = "manylinux_%d_%d_%s" % (major, minor, arch)
        return tag + (".manylinux2014_%s" % arch if (major, minor) == (2, 17) else "")
    if b.os == "win32":
        return {"x64": "win_amd64", "arm64": "win_arm64"}[b.cpu]
    return {"x64": "macosx_10_12_x86_64", "arm64": "macosx_11_0_arm64"}[b.cpu]


def zip_time():
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        import time

        t = time.gmtime(max(int(epoch), 315532800))
        return t[:6]
    return (1980, 1, 1, 0, 0, 0)


def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_wheel(path, version, tag, b):
    dist_name = NAME.replace("-", "_")
    info = "%s-%s.dist-info" % (dist_name, version)
    metadata = (
        "Metadata-Version: 2.1\n"
        "Name: %s\n"
        "Version: %s\n"
        "Summary: A stdio MCP bridge to remote MCP servers, and the OAuth public client on the user's behalf\n"
        "License: MIT OR Apache-2.0\n"
        "Keywords: mcp,oauth,bridge,stdio,cli\n"
        "Description-Content-Type: text/markdown\n"
        "\n"
        "The prebuilt `mcp-valet` binary (%s) as a Python package, for `uvx mcp-valet URL` and\n"
        "`pipx run mcp-valet URL`: the wheel holds the binary only, installed as the `mcp-valet`\n"
        "command, with no Python code in front of it.\n" % (NAME, version, b.target)
    )
    wheel = "Wheel-Version: 1.0\nGenerator: mcp-valet dist/package-wheel\nRoot-Is-Purelib: false\n"
    for t in tag.split("."):
        wheel += "Tag: py3-none-%s\n" % t
    entries = [
        ("%s-%s.data/scripts/%s" % (dist_name, version, b.exe), b.data, 0o755),
        (info + "/METADATA", metadata.encode(), 0o644),
        (info + "/WHEEL", wheel.encode(), 0o644),
    ]
    record = "".join("%s,%s,%d\n" % (n, record_hash(d), len(d)) for n, d, _ in entries)
    record += "%s/RECORD,,\n" % info
    entries.append((info + "/RECORD", record.encode(), 0o644))
    when = zip_time()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data, mode in entries:
            zi = zipfile.ZipInfo(name, when)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = (0o100000 | mode) << 16
            zi.create_system = 3
            z.writestr(zi, data)


def package_wheel(outdir):
    version = pep440(read_version(outdir))
    binaries = find_binaries(outdir)
    staging = stage(outdir, "python")
    files = []
    try:
        for b in binaries:
            tag = wheel_tag(b)
            name = "%s-%s-py3-none-%s.whl" % (NAME.replace("-", "_"), version, tag)
            write_wheel(os.path.join(staging, name), version, tag, b)
            files.append(name)
        write_sums(staging, files)
        final = publish(outdir, "python", staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for n in files:
        print(os.path.join(final, n))


def main(argv):
    prog = os.environ.get("MCP_VALET_PACKAGE_PROG", "package.py")
    if len(argv) != 3 or argv[1] not in ("npm", "wheel") or argv[2].startswith("-"):
        sys.stderr.write("usage: %s OUTDIR  (reads OUTDIR/bin/<rust-target>/%s[.exe] and OUTDIR/VERSION)\n" % (prog, NAME))
        return 2
    try:
        (package_npm if argv[1] == "npm" else package_wheel)(os.path.abspath(argv[2]))
    except Fail as e:
        sys.stderr.write("%s: error: %s\n" % (prog, e))
        return 1
    except OSError as e:
        sys.stderr.write("%s: error: %s\n" % (prog, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
