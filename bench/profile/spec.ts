// Baseline for bench/profile.sh: what `run` and `create` do in TypeScript before the fork, minus
// the CLI: load the bundle's config.json, validate it, convert it to the native config and check
// it against the host (src/spec/), through the addon's files as `create` does, then exit. Argument: the bundle directory.
import { resolveBundle, toNativeConfig } from '../../src/spec/convert.ts';
import { addonFiles as files } from '../../src/native/index.ts';
import { loadSpec } from '../../src/spec/load.ts';
import { checkHost, validateSpec } from '../../src/spec/validate.ts';

const bundle = process.argv[2] ?? '.';
const { spec } = loadSpec(files, bundle);
if (validateSpec(spec).length) process.exit(1);
const config = toNativeConfig(spec, resolveBundle(files, bundle), 'baseline');
process.exit(checkHost(files, config).length ? 1 : 0);
