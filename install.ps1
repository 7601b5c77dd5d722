# Installs mcp-valet on Windows for the current user (no administrator rights needed): the
# prebuilt x86_64 binary from the release, its SHA-256 checksum verified before anything is
# written; or, where there is no prebuilt binary (ARM64, no release reachable, -FromSource), a
# build with cargo from this checkout. The same logic as install.sh.
#
#   powershell -ExecutionPolicy Bypass -File install.ps1
#   powershell -ExecutionPolicy Bypass -File install.ps1 -Prefix C:\Tools\mcp-valet
#   $env:MCP_VALET_RELEASE_URL = "C:\path\to\dist\out"; .\install.ps1     # a local release
#
# Not run by the tests: this repository's machines have no PowerShell on Windows
# (docs/distribution.md).
[CmdletBinding()]
param(
    [string]$Prefix = (Join-Path $env:LOCALAPPDATA "Programs\mcp-valet"),
    [switch]$FromSource
)
$ErrorActionPreference = "Stop"

$DefaultReleaseUrl = "https://github.com/mcp-valet/mcp-valet/releases/latest/download"
$ReleaseUrl = if ($env:MCP_VALET_RELEASE_URL) { $env:MCP_VALET_RELEASE_URL } else { $DefaultReleaseUrl }
$Here = Split-Path -Parent $MyInvocation.MyCommand.Path

function Fail([string]$Message) {
    Write-Host "install.ps1: $Message" -ForegroundColor Red
    exit 1
}

function Get-Target {
    if ($env:PROCESSOR_ARCHITECTURE -eq "AMD64") { return "x86_64-pc-windows-gnu" }
    return $null
}

# Copies one file of the release to $Dest; $false when it is not there.
function Get-ReleaseFile([string]$Name, [string]$Dest) {
    try {
        if ($ReleaseUrl -match '^https?://') {
            Invoke-WebRequest -UseBasicParsing -Uri "$ReleaseUrl/$Name" -OutFile $Dest
        } elseif ($ReleaseUrl -match '^file://') {
            Copy-Item -LiteralPath (Join-Path ([Uri]$ReleaseUrl).LocalPath $Name) -Destination $Dest
        } else {
            Copy-Item -LiteralPath (Join-Path $ReleaseUrl $Name) -Destination $Dest
        }
        return $true
    } catch {
        return $false
    }
}

function Install-Files([string]$Exe) {
    $bin = Join-Path $Prefix "bin"
    New-Item -ItemType Directory -Force -Path $bin | Out-Null
    # Copy, then rename: a running mcp-valet.exe cannot be overwritten on Windows, but it can be
    # renamed out of the way.
    $dest = Join-Path $bin "mcp-valet.exe"
    $new = Join-Path $bin ".mcp-valet.new.exe"
    Copy-Item -LiteralPath $Exe -Destination $new -Force
    if (Test-Path $dest) {
        $old = Join-Path $bin ".mcp-valet.old.exe"
        Remove-Item -LiteralPath $old -Force -ErrorAction SilentlyContinue
        Move-Item -LiteralPath $dest -Destination $old -Force
    }
    Move-Item -LiteralPath $new -Destination $dest -Force
    return $dest
}

function Install-Prebuilt {
    $target = Get-Target
    if (-not $target) {
        Write-Host "No prebuilt binary for Windows $env:PROCESSOR_ARCHITECTURE; building from source."
        return $null
    }
    $name = "mcp-valet-$target"
    $work = Join-Path ([IO.Path]::GetTempPath()) ("mcp-valet-install-" + [Guid]::NewGuid())
    New-Item -ItemType Directory -Path $work | Out-Null
    try {
        $zip = Join-Path $work "$name.zip"
        $sum = Join-Path $work "$name.zip.sha256"
        if (-not (Get-ReleaseFile "$name.zip" $zip) -or -not (Get-ReleaseFile "$name.zip.sha256" $sum)) {
            Write-Host "No prebuilt binary for $target at $ReleaseUrl; building from source."
            return $null
        }
        $expected = ((Get-Content -LiteralPath $sum -TotalCount 1) -split '\s+')[0].ToLowerInvariant()
        $actual = (Get-FileHash -Algorithm SHA256 -LiteralPath $zip).Hash.ToLowerInvariant()
        if ($expected -ne $actual) {
            Fail "checksum mismatch for $name.zip from $ReleaseUrl (expected $expected, got $actual): the download is corrupt or not the release; nothing was installed. Download it again, or build from source with -FromSource."
        }
        try { Expand-Archive -LiteralPath $zip -DestinationPath $work -Force }
        catch { Fail "$name.zip from $ReleaseUrl is not a readable archive; nothing was installed. Download it again, or use -FromSource." }
        $exe = Join-Path $work "$name\mcp-valet.exe"
        if (-not (Test-Path $exe)) { Fail "$name.zip holds no mcp-valet.exe; nothing was installed. Use -FromSource." }
        Write-Host "Installing the prebuilt $name, checksum verified..."
        return (Install-Files $exe)
    } finally {
        Remove-Item -Recurse -Force -LiteralPath $work -ErrorAction SilentlyContinue
    }
}

function Install-FromSource {
    if (-not (Test-Path (Join-Path $Here "Cargo.toml"))) {
        Fail "no prebuilt binary to install and no source here to build from; run install.ps1 from a clone of the repository."
    }
    if (-not (Get-Command cargo -ErrorAction SilentlyContinue)) {
        Fail "cargo was not found. Install the Rust toolchain first (https://rustup.rs), open a new terminal and run install.ps1 again."
    }
    Write-Host "Building mcp-valet (release)..."
    & cargo build --release --locked --manifest-path (Join-Path $Here "Cargo.toml")
    if ($LASTEXITCODE -ne 0) { Fail "the build failed (see above); nothing was installed." }
    $meta = & cargo metadata --format-version 1 --no-deps --manifest-path (Join-Path $Here "Cargo.toml") | ConvertFrom-Json
    $exe = Join-Path $meta.target_directory "release\mcp-valet.exe"
    if (-not (Test-Path $exe)) { Fail "the build did not produce $exe" }
    return (Install-Files $exe)
}

$installed = $null
if (-not $FromSource) { $installed = Install-Prebuilt }
if (-not $installed) { $installed = Install-FromSource }

$version = & $installed --version
Write-Host "Installed $installed ($version)"
$bin = Split-Path -Parent $installed
$userPath = [Environment]::GetEnvironmentVariable("Path", "User")
if (-not (($userPath -split ';') -contains $bin)) {
    Write-Host "Note: $bin is not on your PATH. Add it for new terminals with:"
    Write-Host "    [Environment]::SetEnvironmentVariable('Path', `"$bin;`" + [Environment]::GetEnvironmentVariable('Path', 'User'), 'User')"
    Write-Host "MCP clients need the absolute path anyway: `"command`": `"$($installed -replace '\\','\\')`""
}
