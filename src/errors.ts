/**
 * The error types the CLI's single sink (src/main.ts) maps to messages and exit codes.
 * Only the entry calls process.exit; everything else throws one of these.
 */

/** A failure the user should see as one message; exits 1 unless told otherwise. */
export class RuntsError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'RuntsError';
    this.exitCode = exitCode;
  }
}

/** One problem found in a config, at a JSON path such as `process.args[0]`. */
export interface Problem {
  path: string;
  message: string;
}

/** Every problem of a config at once (STYLE.md: validation reports all of them). */
export class ValidationError extends RuntsError {
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
