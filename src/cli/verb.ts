/**
 * One definition per verb (src/cli/commands/<verb>.ts), read by both parsers: the commander
 * program (src/cli/program.ts) and the engine fast path (src/cli/fast.ts), which parses the
 * plain shapes engines send without loading commander. A flag is written once, in commander's
 * notation ("-b, --bundle <path>", "--no-pivot", "-d, --detach"); both parsers derive from it
 * the same option key (commander's camelCase, "--no-x" → `x: false`) and default, so they hand
 * the verb identical options (test/unit/fast.test.ts runs both over engine argv shapes).
 */
import type { Runtime } from '../runtime/runtime.ts';
import type { GlobalOptions } from './globals.ts';

export interface FlagDef {
  /** commander's notation: "-b, --bundle <path>", "--no-pivot", "-a, --all". */
  flags: string;
  description: string;
  /**
   * The value when the flag is absent (commander's default); a function is called only when it
   * is needed (the default root reads the environment, which Bun builds on first use: not for
   * the engines' calls, which always pass --root).
   */
  default?: string | number | boolean | (() => string);
  /** Turns the given value into the option (commander's argParser); may throw. */
  parse?: (value: string) => unknown;
  /** The values allowed (commander's choices). */
  choices?: string[];
  /** May be given again: the option is the list of every value (default []). */
  repeat?: boolean;
}

export interface ArgDef {
  /** commander's notation: "<container-id>", "[signal]", "[ps-options...]". */
  name: string;
  description: string;
  default?: string;
}

export type Options = Record<string, unknown>;

/** What a verb's action gets besides its arguments and options. */
export interface VerbContext {
  globals: GlobalOptions;
  /** The library, configured from the global flags. */
  runtime(): Promise<Runtime>;
}

export interface VerbDef {
  name: string;
  description: string;
  summary?: string;
  usage?: string;
  args: ArgDef[];
  flags: FlagDef[];
  /** Options after the first argument go to the verb (ps's ps(1) options). */
  passThrough?: boolean;
  /** `args`: the arguments in order, a variadic one spread; `opts`: keyed as commander keys them. */
  action(ctx: VerbContext, args: string[], opts: Options): Promise<void>;
}

export interface FlagShape {
  long: string;
  short?: string;
  /** Takes a value ("<path>"). */
  value: boolean;
  /** "--no-x": sets `key` to false; the default is true. */
  negate: boolean;
  /** The option's key, as commander names it (camelCase, without "no-"). */
  key: string;
}

function camel(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += s[i] === '-' && i + 1 < s.length ? s[++i].toUpperCase() : s[i];
  return out;
}

const shapes = new WeakMap<FlagDef, FlagShape>();

/**
 * Reads commander's notation ("-b, --bundle <path>"). By hand, not with a regular expression:
 * this runs for every flag of every engine call, and compiling a pattern costs more there than
 * the whole parse.
 */
export function flagShape(f: FlagDef): FlagShape {
  const known = shapes.get(f);
  if (known) return known;
  let rest = f.flags;
  let short: string | undefined;
  if (rest[0] === '-' && rest[1] !== '-') {
    short = rest[1];
    rest = rest.slice(rest.indexOf('--'));
  }
  const space = rest.indexOf(' ');
  const long = (space < 0 ? rest : rest.slice(0, space)).slice(2);
  const value = space >= 0;
  if (!rest.startsWith('--') || !long) throw new Error(`bad flag definition ${JSON.stringify(f.flags)}`);
  const negate = long.startsWith('no-') && !value;
  const shape = { long, short, value, negate, key: camel(negate ? long.slice(3) : long) };
  shapes.set(f, shape);
  return shape;
}

/** The options a verb gets when none of its flags is given (commander's defaults). */
export function defaults(flags: FlagDef[], given: Options = {}): Options {
  const out: Options = {};
  // An index loop: the engine fast path runs this once per call (src/cli/fast.ts).
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i];
    const s = flagShape(f);
    if (s.key in given) continue;
    if (f.default !== undefined || f.repeat) out[s.key] = defaultValue(f);
    else if (s.negate) out[s.key] = true;
  }
  return out;
}

/** A flag's default, the lazy ones computed. */
export function defaultValue(f: FlagDef): string | number | boolean | unknown[] | undefined {
  if (f.repeat) return [];
  return typeof f.default === 'function' ? f.default() : f.default;
}

/** A flag's value as the verb gets it: parsed, and checked against its choices. */
export function flagValue(f: FlagDef, raw: string): unknown {
  // indexOf, not includes: a builtin compiled on first use (src/lists.ts).
  if (f.choices && f.choices.indexOf(raw) < 0) {
    throw new Error(`option '${f.flags}' argument '${raw}' is invalid. Allowed choices are ${f.choices.join(', ')}.`);
  }
  return f.parse ? f.parse(raw) : raw;
}

/** `--preserve-fds N` and other counts. */
export function parseCount(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`invalid value "${v}" for flag --${flag}`);
    return n;
  };
}

export const ID_ARG: ArgDef = { name: '<container-id>', description: 'the container instance name' };

/**
 * runc's warning before a verb that needs the container's cgroups, when the cgroup manager is
 * rootless (runc pause/resume/ps: "may fail if you don't have the full access to cgroups").
 */
export async function warnRootlessCgroups(rt: Runtime, verb: string): Promise<void> {
  if (rt.options.rootless) await rt.options.logger.warn(`runts ${verb} may fail if you don't have the full access to cgroups`);
}
