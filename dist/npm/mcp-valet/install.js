// postinstall of the npm package mcp-valet. Downloads nothing and never fails the install.
//
// On Linux and macOS it replaces bin/mcp-valet (the Node launcher) with the native binary
// from the platform package, once that binary has answered `--version` with this package's
// version: npm's .bin link then starts the binary directly, without a Node process in front
// (Node's own start-up is most of the launcher's cost). Anywhere else (Windows, where npm's
// command shims run bin/mcp-valet with node; no platform package; a binary that does not
// run), or with --ignore-scripts, the Node launcher stays and does the same job.
'use strict';

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

function note(msg) {
  process.stderr.write('mcp-valet postinstall: ' + msg + '\n');
}

function main() {
  if (process.platform === 'win32') return;
  const pkg = '@mcp-valet/' + process.platform + '-' + process.arch;
  let manifest;
  try {
    manifest = require.resolve(pkg + '/package.json');
  } catch (_) {
    note(pkg + ' is not installed; `mcp-valet` will say so when run');
    return;
  }
  const version = require('./package.json').version;
  if (require(manifest).version !== version) {
    note(pkg + ' is not version ' + version + '; keeping the Node launcher');
    return;
  }
  const binary = path.join(path.dirname(manifest), 'bin', 'mcp-valet');
  let out;
  try {
    out = execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 10000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (e) {
    note('the binary in ' + pkg + ' does not run here (' + e.message.split('\n')[0] + '); keeping the Node launcher');
    return;
  }
  if (!out.split(/\s+/).includes(version)) {
    note('the binary in ' + pkg + ' says ' + JSON.stringify(out.trim()) + ', not ' + version + '; keeping the Node launcher');
    return;
  }
  const launcher = path.join(__dirname, 'bin', 'mcp-valet');
  const tmp = launcher + '.native-' + process.pid;
  try {
    try {
      fs.linkSync(binary, tmp);
    } catch (_) {
      fs.copyFileSync(binary, tmp);
    }
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, launcher);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch (_) {
      // never created
    }
    note('could not put the binary in place (' + e.message + '); keeping the Node launcher');
  }
}

try {
  main();
} catch (e) {
  note('skipped (' + e.message + ')');
}
