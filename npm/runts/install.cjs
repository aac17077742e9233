// install.cjs, the postinstall of the npm package `runts`: bin/runts becomes the compiled executable of the
// platform package (a hard link where the two are on one filesystem, else a copy), so that
// `runts` on PATH is that executable with no JavaScript runtime in between. Where the platform
// package is missing (another platform, --omit=optional) the shim stays and says so.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const shim = path.join(__dirname, 'bin', 'runts');
let bin;
try {
  bin = path.join(path.dirname(require.resolve('runts-linux-x64-gnu/package.json')), 'runts');
} catch {
  console.warn('runts: no platform package for this host (runts-linux-x64-gnu): bin/runts stays a shim that says so');
  process.exit(0);
}
const tmp = `${shim}.${process.pid}`;
try {
  try {
    fs.linkSync(bin, tmp);
  } catch {
    fs.copyFileSync(bin, tmp);
  }
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, shim);
} catch (e) {
  try {
    fs.unlinkSync(tmp);
  } catch {}
  console.warn(`runts: could not put ${bin} in place of ${shim} (${e.message}); the shim starts it instead`);
}
