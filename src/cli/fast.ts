/**
 * The verbs engines send for every container — `create`, `start`, `state`, `kill`, `delete`
 * and `run` — parsed without commander when their command line has the plain shape engines
 * use (containerd's shim: `--root R --log F --log-format json kill ID 15`). Loading and
 * building the commander program is a third of a `state` call's startup
 * (docs/benchmarks.md). Anything else — help, an unknown or repeated flag, a wrong number of
 * arguments — returns undefined and goes through commander, which gives the usual behaviour
 * and messages; for the shapes accepted here both paths call the same implementation with the
 * same options (test/unit/fast.test.ts).
 */
import { defaultRoot } from './globals.ts';
import type { GlobalOptions } from './globals.ts';

export interface FastCall {
  verb: string;
  globals: GlobalOptions;
  /** The verb's positional arguments and flags, as parsed (for tests and debug logs). */
  args: string[];
  flags: Record<string, string | boolean>;
  run(): Promise<void>;
}

type Values = Record<string, string | boolean>;

/** A verb's flags: long name → [short alias, takes a value]. Names are commander's keys. */
interface VerbShape {
  flags: Record<string, [string | undefined, boolean]>;
  /** How many positional arguments: [min, max]. */
  args: [number, number];
  run(g: GlobalOptions, args: string[], o: Values): Promise<void>;
}

const GLOBAL: VerbShape['flags'] = {
  root: [undefined, true],
  log: [undefined, true],
  'log-format': [undefined, true],
  rootless: [undefined, true],
  criu: [undefined, true],
  debug: [undefined, false],
  'systemd-cgroup': [undefined, false],
};

/** The flags `create` and `run` share. */
const BUILD_FLAGS: VerbShape['flags'] = {
  bundle: ['b', true],
  'console-socket': [undefined, true],
  'pid-file': [undefined, true],
  'no-pivot': [undefined, false],
  'no-new-keyring': [undefined, false],
  'preserve-fds': [undefined, true],
};

const str = (v: string | boolean | undefined) => (typeof v === 'string' ? v : undefined);

const VERBS: Record<string, VerbShape> = {
  state: {
    flags: {},
    args: [1, 1],
    run: async (g, [id]) => (await import('../container/view.ts')).printState(g.root, id),
  },
  start: {
    flags: {},
    args: [1, 1],
    run: async (g, [id]) => (await import('../container/control.ts')).startContainer(g.root, id),
  },
  kill: {
    flags: { all: ['a', false] },
    args: [1, 2],
    run: async (g, [id, sig], o) =>
      (await import('../container/control.ts')).killContainer(g.root, id, sig ?? 'SIGTERM', !!o.all),
  },
  delete: {
    flags: { force: ['f', false] },
    args: [1, 1],
    run: async (g, [id], o) => (await import('../container/control.ts')).deleteContainer(g.root, id, !!o.force),
  },
  run: {
    flags: {
      ...BUILD_FLAGS,
      detach: ['d', false],
      keep: [undefined, false],
      'no-subreaper': [undefined, false],
    },
    args: [1, 1],
    async run(g, [id], o) {
      const { runVerb } = await import('../container/run.ts');
      process.exitCode = await runVerb(g, id, {
        bundle: str(o.bundle),
        consoleSocket: str(o['console-socket']),
        detach: !!o.detach,
        keep: !!o.keep,
        pidFile: str(o['pid-file']),
        subreaper: !o['no-subreaper'],
        pivot: !o['no-pivot'],
        newKeyring: !o['no-new-keyring'],
        preserveFds: count(o['preserve-fds']),
      });
    },
  },
  create: {
    flags: { ...BUILD_FLAGS, 'pidfd-socket': [undefined, true] },
    args: [1, 1],
    run: async (g, [id], o) =>
      (await import('../container/detached.ts')).createDetached(g, id, {
        bundle: str(o.bundle),
        consoleSocket: str(o['console-socket']),
        pidFile: str(o['pid-file']),
        noPivot: !!o['no-pivot'],
        noNewKeyring: !!o['no-new-keyring'],
        preserveFds: count(o['preserve-fds']),
        pidfdSocket: str(o['pidfd-socket']),
      }),
  },
};

function count(v: string | boolean | undefined): number {
  if (typeof v !== 'string') return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`invalid value "${v}" for flag --preserve-fds`);
  return n;
}

/**
 * Reads `--name value`, `--name=value`, `-x value` and boolean flags of `shape` from the start
 * of `args`; returns the values and where the flags ended, or undefined on anything else.
 */
function readFlags(args: string[], start: number, shape: VerbShape['flags']): [Values, number] | undefined {
  const out: Values = {};
  let i = start;
  for (; i < args.length && args[i].startsWith('-') && args[i] !== '-'; i++) {
    const a = args[i];
    const eq = a.indexOf('=');
    let name: string | undefined;
    if (a.startsWith('--')) name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    else if (a.length === 2) name = Object.keys(shape).find((k) => shape[k][0] === a[1]);
    if (!name || !(name in shape) || name in out) return undefined;
    if (shape[name][1]) {
      const value = eq > 0 && a.startsWith('--') ? a.slice(eq + 1) : args[++i];
      if (value === undefined || (eq < 0 && value.startsWith('-'))) return undefined;
      out[name] = value;
    } else {
      if (eq > 0) return undefined;
      out[name] = true;
    }
  }
  return [out, i];
}

/** The verb of a command line: the first argument after the global flags, if they parse. */
export function verbOf(args: string[]): string | undefined {
  const g = readFlags(args, 0, GLOBAL);
  return g ? args[g[1]] : undefined;
}

export function fastPath(args: string[]): FastCall | undefined {
  const globalFlags = readFlags(args, 0, GLOBAL);
  if (!globalFlags) return undefined;
  const [gv, at] = globalFlags;
  const logFormat = str(gv['log-format']) ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') return undefined;
  const g: GlobalOptions = {
    root: str(gv.root) ?? defaultRoot(),
    log: str(gv.log),
    logFormat,
    debug: !!gv.debug,
    systemdCgroup: !!gv['systemd-cgroup'],
    rootless: str(gv.rootless) ?? 'auto',
    criu: str(gv.criu) ?? 'criu',
  };
  const verb = args[at];
  const shape = verb === undefined ? undefined : VERBS[verb];
  if (!shape) return undefined;
  const verbFlags = readFlags(args, at + 1, shape.flags);
  if (!verbFlags) return undefined;
  const [o, end] = verbFlags;
  const rest = args.slice(end);
  if (rest.length < shape.args[0] || rest.length > shape.args[1]) return undefined;
  if (rest.some((a) => a.startsWith('-') && a !== '-')) return undefined;
  return { verb, globals: g, args: rest, flags: o, run: () => shape.run(g, rest, o) };
}
