/**
 * Logging, shaped as runc's logrus output so that engines read it unchanged:
 *   --log-format json: {"level":"error","msg":"…","time":"<RFC 3339>"} (containerd shows the
 *   last error line of the log file to users);
 *   --log-format text: time="<RFC 3339>" level=error msg="…".
 * pino is loaded only when a line is actually logged: most `state` and `kill` calls never log,
 * and importing pino costs ~7 ms and 5 MB at startup.
 */
import type { Logger } from 'pino';

/**
 * node:fs, loaded only to write a line (src/cli/stdio.ts: what importing it costs). The --log
 * file is opened through the addon, which the verbs engines send most (create, start, kill,
 * delete, run) load anyway: engines pass --log on every call.
 */
let fs: typeof import('node:fs') | undefined;
let native: typeof import('./native/index.ts') | undefined;
async function nodeFs(): Promise<typeof import('node:fs')> {
  return (fs ??= await import('node:fs'));
}

export interface LogOptions {
  log?: string;
  logFormat?: string;
  debug?: boolean;
}

let options: LogOptions = {};
let logger: Logger | undefined;
let fd = 2;
let opened: string | undefined;

/**
 * Remembers the global flags and opens the --log file (created if missing), as runc does on
 * every call: containerd and Docker read the last error line of that file after a failed call
 * and report "open …/log.json: no such file or directory" when it does not exist. One open(2);
 * pino itself is loaded only for the first line logged.
 */
export async function configureLog(opts: LogOptions): Promise<void> {
  options = opts;
  if (!opts.log || opts.log === opened) return;
  native ??= await import('./native/index.ts');
  const next = native.openAppend(opts.log);
  if (fd > 2) native.closeFd(fd);
  fd = next;
  opened = opts.log;
}

/** Whether log lines go somewhere other than stderr (runc then also prints fatal errors to stderr). */
export function logsToFile(): boolean {
  return !!options.log && options.log !== '/dev/stderr';
}

function rfc3339(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function logfmtValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /^[\w./:@-]+$/.test(s) ? s : JSON.stringify(s);
}

/** pino writes JSON lines; the text format rewrites each into logrus's key=value shape. */
function destination({ writeSync }: typeof import('node:fs')): { write(line: string): void } {
  if (options.logFormat === 'json') return { write: (line) => void writeSync(fd, line) };
  return {
    write(line) {
      const { time, level, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
      const extra = Object.entries(rest).map(([k, v]) => ` ${k}=${logfmtValue(v)}`).join('');
      writeSync(fd, `time="${time}" level=${level} msg=${logfmtValue(msg ?? '')}${extra}\n`);
    },
  };
}

async function get(): Promise<Logger> {
  if (logger) return logger;
  const { pino } = await import('pino');
  const dest = destination(await nodeFs());
  logger = pino(
    {
      level: options.debug ? 'debug' : 'info',
      base: null,
      messageKey: 'msg',
      timestamp: () => `,"time":"${rfc3339()}"`,
      formatters: { level: (label) => ({ level: label === 'warn' ? 'warning' : label }) },
    },
    dest,
  );
  return logger;
}

/**
 * An error line. In the JSON format `fields` (step, path, errno of an init failure) go beside
 * runc's `msg`; the text line stays exactly runc's (podman shows it to users).
 */
export async function logError(msg: string, fields?: Record<string, unknown>): Promise<void> {
  if (fields && options.logFormat === 'json') (await get()).error(fields, msg);
  else (await get()).error(msg);
}

export async function logInfo(msg: string): Promise<void> {
  (await get()).info(msg);
}

export async function logWarn(msg: string): Promise<void> {
  (await get()).warn(msg);
}

/** Debug lines cost nothing unless --debug was given. */
export async function logDebug(msg: string): Promise<void> {
  if (options.debug) (await get()).debug(msg);
}

/** Flushes and closes a log file before the process exits. */
export function closeLog(): void {
  // A descriptor above 2 was opened through the addon, which is loaded then.
  if (fd > 2) native?.closeFd(fd);
}
