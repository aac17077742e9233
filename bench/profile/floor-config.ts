// Run by bench/lib.sh (bench_floor_runtime) with Bun from the checkout's sources, once per
// bench run: `bun bench/profile/floor-config.ts BUNDLE OUT`. Writes what runts's spec pipeline
// makes of BUNDLE's config.json (load, validate, convert: runts's own code) for the floor
// runtime (./floor-runtime.ts), which then starts every container from it without doing any
// of that work itself: the native config of `create` and `run` (its cgroup named after each
// id there), and the config of the process `exec /bin/true` starts (its id set there).
import { writeFileSync } from 'node:fs';
import { bundleConfig } from '../../src/runtime/build.ts';
import { execConfig, processFor } from '../../src/runtime/exec.ts';
import { keepCallerNofile } from '../../src/runtime/spawned.ts';
import { toCgroupSpec } from '../../src/spec/resources.ts';
import { toNativeProcess } from '../../src/spec/convert.ts';
import { thaw } from '../../src/spec/numbers.ts';
import type { Process } from '../../src/spec/types.ts';
import type { ContainerState } from '../../src/state/store.ts';

const [bundle, out] = process.argv.slice(2);
const { spec, config } = bundleConfig('floor', bundle);
keepCallerNofile(config);
config.cgroup = toCgroupSpec(spec, 'floor', { systemd: false, rootless: false });
const exec = execConfig(
  { id: 'floor', bundle: config.bundle, rootfs: config.rootfs } as ContainerState,
  toNativeProcess(thaw(processFor(spec.process, { args: ['/bin/true'] }) as Process)),
  config.seccomp,
);
keepCallerNofile(exec);
writeFileSync(out, JSON.stringify({ config, exec }));
