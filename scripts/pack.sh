#!/usr/bin/env bash
# scripts/pack.sh OUT — the npm packages, in napi-rs's layout, as tarballs in OUT (`npm pack`):
#
#   runts-<version>.tgz                 the main package: the library (build/src, its types),
#                                       bin/runts and install.cjs; optionalDependencies on the
#                                       platform package
#   runts-linux-x64-gnu-<version>.tgz   npm/linux-x64-gnu: what is native, the addon
#                                       (runts.linux-x64-gnu.node) and the compiled executable
#                                       (runts), os/cpu/libc set
#
# From a built checkout (npm run build). Each package is staged in OUT/stage/ from the checkout's
# package.json and npm/: the checkout's own package.json (the development one) is not changed.
# Other platforms (linux-arm64-gnu, linux-x64-musl) would need their Rust targets and Bun's
# --target for them; see the README.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mkdir -p "${1:?usage: scripts/pack.sh OUT}" && cd "$1" && pwd)
for f in build/src/index.js runts.linux-x64-gnu.node dist/runts; do
  [[ -e $f ]] || { echo "pack: $f missing: npm run build first" >&2; exit 1; }
done
version=$(node -p 'require("./package.json").version')
stage=$out/stage
rm -rf "$stage"
mkdir -p "$stage/runts" "$stage/runts-linux-x64-gnu"

# The platform package: the addon and the executable.
cp npm/linux-x64-gnu/README.md "$stage/runts-linux-x64-gnu/"
cp runts.linux-x64-gnu.node dist/runts "$stage/runts-linux-x64-gnu/"
node -e '
  const p = require("./npm/linux-x64-gnu/package.json");
  p.files = ["runts.linux-x64-gnu.node", "runts"];
  require("fs").writeFileSync(process.argv[1], JSON.stringify(p, null, 2) + "\n");
' "$stage/runts-linux-x64-gnu/package.json"

# The main package: the library, the command, its install script.
cp -r build/src "$stage/runts/build-src"
mkdir -p "$stage/runts/build" && mv "$stage/runts/build-src" "$stage/runts/build/src"
cp -r npm/runts/bin npm/runts/install.cjs README.md "$stage/runts/"
chmod 755 "$stage/runts/bin/runts"
node -e '
  const p = require("./package.json");
  const out = {
    name: p.name, version: p.version, description: p.description, type: p.type, license: p.license,
    main: p.main, types: p.types, exports: { ".": { types: "./build/src/index.d.ts", default: "./build/src/index.js" } },
    bin: { runts: "bin/runts" },
    files: ["build/src", "bin", "install.cjs"],
    scripts: { postinstall: "node install.cjs" },
    engines: p.engines, os: p.os,
    dependencies: p.dependencies,
    optionalDependencies: { "runts-linux-x64-gnu": p.version },
  };
  require("fs").writeFileSync(process.argv[1], JSON.stringify(out, null, 2) + "\n");
' "$stage/runts/package.json"

for pkg in runts-linux-x64-gnu runts; do
  (cd "$stage/$pkg" && npm pack --silent --pack-destination "$out" >/dev/null)
done
ls "$out"/runts-"$version".tgz "$out"/runts-linux-x64-gnu-"$version".tgz
