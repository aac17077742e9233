// Baseline for bench/profile.sh: only the Node built-ins that commander requires at its top
// (node_modules/commander/lib/command.js), loaded and kept alive, then process.exit(0). Tells
// how much of commander's cost is theirs.
import * as events from 'node:events';
import * as childProcess from 'node:child_process';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as proc from 'node:process';

(globalThis as { keep?: unknown }).keep = [events, childProcess, path, fs, proc];
process.exit(0);
