/**
 * The only importer of the native addon (crates/napi). Everything else goes through the typed
 * wrappers in ./index.ts.
 *
 * Under `bun build --compile` the addon must be `require`d by a literal path: that is how Bun
 * finds and embeds it into the single executable. Under Node and Deno it is loaded from disk:
 * `RUNTS_NATIVE` if set, else the file built at the package root (this file is at
 * src/native/ in a checkout and at build/src/native/ once compiled), else the napi-rs platform
 * package `runts-linux-x64-gnu`. (Bun running the sources, `bun src/main.ts`, takes the file at
 * the package root through the same literal require.)
 */
import { createRequire } from 'node:module';
import type * as Binding from './binding.js';

declare const Bun: unknown;
declare const require: (id: string) => unknown;

export type Addon = typeof Binding;

function loadFromDisk(): Addon {
  const req = createRequire(import.meta.url);
  const candidates = [
    process.env.RUNTS_NATIVE,
    '../../runts.linux-x64-gnu.node',
    '../../../runts.linux-x64-gnu.node',
    'runts-linux-x64-gnu',
  ];
  const errors: string[] = [];
  for (const c of candidates) {
    if (!c) continue;
    try {
      return req(c) as Addon;
    } catch (e) {
      errors.push(`${c}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`cannot load the runts native addon (run \`npm run build:native\`): ${errors.join('; ')}`);
}

// The compiled binary always uses the addon embedded in it: an environment variable must not
// be able to make a root runtime load another shared object (dist/runts is also built without
// .env and bunfig.toml autoloading, for the same reason).
export const addon: Addon =
  typeof Bun !== 'undefined' ? (require('../../runts.linux-x64-gnu.node') as Addon) : loadFromDisk();
