// Prototype for bench/profile.sh (not the product): `runts [--root DIR] state ID` answered
// without commander, everything else handed to the real entry (src/main.ts, which the bundle
// still contains but only evaluates on that path). Measures what a commander-free fast path for
// the verbs engines call most (state, kill) would save. Any error also falls back to the real
// entry, so the output and exit codes stay runts's.
import { print } from '../../src/cli/output.ts';
import { view } from '../../src/runtime/state.ts';
import { validateId } from '../../src/state/id.ts';
import { readState } from '../../src/state/store.ts';
import { nodeFiles } from '../../src/state/node-files.ts';

async function fastState(argv: string[]): Promise<boolean> {
  let root = '/run/runts';
  let i = 0;
  if (argv[0] === '--root' && argv.length === 4) {
    root = argv[1];
    i = 2;
  }
  if (argv[i] !== 'state' || argv.length !== i + 2) return false;
  try {
    const id = validateId(argv[i + 1]);
    await print(`${JSON.stringify(view(nodeFiles, root, readState(nodeFiles, root, id)), null, 2)}\n`);
    return true;
  } catch {
    return false;
  }
}

if (await fastState(process.argv.slice(2))) process.exit(0);
else void import('../../src/main.ts');
