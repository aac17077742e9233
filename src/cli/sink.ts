/**
 * The one error sink: every failure of every verb ends here and becomes a log line, a stderr
 * line and an exit code. The last line of stderr is the useful one (engines show only it).
 */
import { InitError, RuntsError } from '../errors.ts';
import { logError, logsToFile } from '../log.ts';
import { writeOut } from './stdio.ts';

/** runc prefixes the failures of the verbs that build a container (and exec) with their name. */
const PREFIX: Record<string, string> = {
  run: 'runts run failed: ',
  create: 'runts create failed: ',
  exec: 'exec failed: ',
};

/**
 * commander's usage error in runc's words where tools match them: podman decides whether a
 * runtime can restore into a pod by `restore --lsm-mount-context` saying "flag needs an
 * argument" (runc's Go flag package).
 */
export function usageMessage(msg: string): string {
  return msg.replace(/^(error: )?option '(?:-\w, )?--([\w-]+)[^']*' argument missing/, '$1flag needs an argument: -$2');
}

/**
 * Reports `err` as runc does and returns the exit code the process must end with.
 * `verb` is the command that was running, when one was.
 */
export async function report(err: unknown, verb?: string): Promise<number> {
  // commander has already printed its usage errors; --help and --version end with code 0.
  // (Recognised by its codes, so that the fast path never loads commander.)
  const c = err as { code?: unknown; exitCode?: unknown; message?: unknown };
  if (typeof c?.code === 'string' && c.code.startsWith('commander.') && typeof c.exitCode === 'number') {
    // The usage error is on stderr already; engines read it from the log file.
    if (c.exitCode !== 0 && logsToFile()) await logError(usageMessage(String(c.message)).replace(/^error: /, ''));
    return c.exitCode;
  }
  const message = (verb && PREFIX[verb] || '') + (err instanceof Error ? err.message : String(err));
  // runc exec: any failure of the exec itself is 255 (a process's own status is 0-255 too,
  // and Docker and containerd tell the two apart by it).
  const code = verb === 'exec' ? 255 : err instanceof RuntsError ? err.exitCode : 1;
  if (!(err instanceof RuntsError) && process.env.RUNTS_DEBUG_STACK) {
    await writeOut(2, `${(err as Error)?.stack}\n`);
  }
  // containerd shows `msg`; the JSON line also carries where an init step failed.
  const fields =
    err instanceof InitError && err.step ? { step: err.step, path: err.path, errno: err.errnoName || err.errno } : undefined;
  await logError(message, fields);
  // runc: with --log set to a file, the error also goes to stderr, plainly.
  if (logsToFile()) await writeOut(2, `${message}\n`);
  return code;
}
