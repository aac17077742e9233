/**
 * The typed errors of the library (src/runtime/) and of the CLI's one error sink
 * (src/cli/sink.ts). A caller tells them apart with `instanceof` or by `code`; the message is
 * runc's wording where engines match on it ("container does not exist", "container not
 * running"): containerd's runc client maps those to not-found and not-running.
 */

/** Every failure runts reports on purpose; exits 1 unless told otherwise. */
export class RuntsError extends Error {
  /** A stable name for the kind of failure (the subclasses each have one). */
  readonly code: string = 'ERR_RUNTS';
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'RuntsError';
    this.exitCode = exitCode;
  }
}

/** No container with that id under the root: runc's "container does not exist". */
export class NotFoundError extends RuntsError {
  override readonly code = 'ERR_RUNTS_NOT_FOUND';
  constructor(readonly id: string) {
    super('container does not exist');
    this.name = 'NotFoundError';
  }
}

/** The container is not in a state the operation needs ("container not running", ...). */
export class StateError extends RuntsError {
  override readonly code = 'ERR_RUNTS_STATE';
  constructor(message: string, readonly status?: string) {
    super(message);
    this.name = 'StateError';
  }
}

/** A container with that id exists already: runc's "container with id exists: ID". */
export class AlreadyExistsError extends RuntsError {
  override readonly code = 'ERR_RUNTS_EXISTS';
  constructor(readonly id: string) {
    super(`container with id exists: ${id}`);
    this.name = 'AlreadyExistsError';
  }
}

/** Something runts does not do (yet); the message starts with "not supported: ". */
export class NotSupportedError extends RuntsError {
  override readonly code = 'ERR_RUNTS_NOT_SUPPORTED';
  constructor(what: string) {
    super(`not supported: ${what}`);
    this.name = 'NotSupportedError';
  }
}

/**
 * A step of building, starting or controlling a container failed, in the runtime or in the
 * container's init (the Rust core's InitError, carried across napi as structured fields).
 */
export class InitError extends RuntsError {
  override readonly code = 'ERR_RUNTS_INIT';
  /** The step that failed ("mount", "open exec fifo", "execve", ...). */
  readonly step: string;
  /** The object it acted on, as the container sees it ("/proc", "/bin/sh"), or "". */
  readonly path: string;
  /** The errno (0 when the failure was not a system call) and its name ("ENOENT"). */
  readonly errno: number;
  readonly errnoName: string;
  constructor(message: string, fields: { step?: string; path?: string; errno?: number; errnoName?: string } = {}) {
    super(message);
    this.name = 'InitError';
    this.step = fields.step ?? '';
    this.path = fields.path ?? '';
    this.errno = fields.errno ?? 0;
    this.errnoName = fields.errnoName ?? '';
  }
}

/** A record of the state store that is empty, cut short or not what it should be. */
export class BadRecordError extends RuntsError {
  override readonly code = 'ERR_RUNTS_BAD_RECORD';
  constructor(readonly file: string, problem: string) {
    super(`read ${file}: ${problem}`);
    this.name = 'BadRecordError';
  }
}

/** One problem found in a config, at a JSON path such as `process.args[0]`. */
export interface Problem {
  path: string;
  message: string;
}

/** Every problem of a config at once (STYLE.md: validation reports all of them). */
export class ValidationError extends RuntsError {
  override readonly code = 'ERR_RUNTS_INVALID_CONFIG';
  readonly problems: Problem[];
  constructor(file: string, problems: Problem[]) {
    super(
      `invalid ${file}: ` +
        problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; '),
    );
    this.name = 'ValidationError';
    this.problems = problems;
  }
}

/**
 * A failed file system call, as one line naming the operation, the path once and the errno:
 * `mkdir /run/runts/x: EACCES (permission denied)`. The same from node:fs and from the addon
 * (src/state/files.ts); `errnoName` tells the cause apart ("EEXIST", "ENOENT").
 */
export class FsError extends RuntsError {
  override readonly code = 'ERR_RUNTS_FS';
  constructor(
    readonly op: string,
    readonly path: string,
    readonly errnoName: string,
    readonly description = '',
  ) {
    super(`${op} ${path}: ${errnoName}${description ? ` (${description})` : ''}`);
    this.name = 'FsError';
  }
}

/**
 * The FsError of a failed call, from node:fs's error (`code` "ENOENT", message "ENOENT: no
 * such file or directory, open '…'", which repeats the path) or the addon's InitError
 * (`errnoName`, message ending "(No such file or directory)").
 */
export function fsError(op: string, path: string, e: unknown): FsError {
  if (e instanceof FsError) return new FsError(op, path, e.errnoName, e.description);
  if (e instanceof InitError && e.errnoName) {
    const desc = /\(([^()]*)\)$/.exec(e.message)?.[1] ?? '';
    return new FsError(op, path, e.errnoName, desc.charAt(0).toLowerCase() + desc.slice(1));
  }
  const err = e as NodeJS.ErrnoException;
  const desc = /^[A-Z]+: ([^,]+)/.exec(err?.message ?? '')?.[1];
  return new FsError(op, path, typeof err?.code === 'string' ? err.code : 'error', desc);
}
