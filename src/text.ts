/**
 * The string checks the engine verbs and the create path need, by hand rather than with a
 * regular expression (the engine's first use of one costs a process 1.1 MB: src/lists.ts).
 */

/** Whether `s` is one or more decimal digits. */
export function isDigits(s: string): boolean {
  if (s === '') return false;
  for (let i = 0; i < s.length; i++) if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

/** The words of a line, split at runs of blanks (spaces, tabs, newlines). */
export function fields(line: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= line.length; i++) {
    const blank = i === line.length || line[i] === ' ' || line[i] === '\t' || line[i] === '\n';
    if (blank && start >= 0) {
      out.push(line.slice(start, i));
      start = -1;
    } else if (!blank && start < 0) {
      start = i;
    }
  }
  return out;
}
