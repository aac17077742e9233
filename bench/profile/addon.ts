// Baseline for bench/profile.sh: a bare binary that loads the embedded napi addon (the way
// src/native/addon.ts does under Bun: a literal require path, so Bun embeds the .node file and
// extracts it to $TMPDIR on first use), then exits.
declare const require: (id: string) => unknown;

require('../../runts.linux-x64-gnu.node');
process.exit(0);
