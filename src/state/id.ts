/** Container ids, checked as runc checks them (libcontainer/factory_linux.go validateID). */
import { RuntsError } from '../errors.ts';

/**
 * runc: ^[\w+-\.]+$ — the class holds the range "+".."." (so "," too), "_", letters and
 * digits. Checked by hand: compiling the pattern costs every engine call more than the check.
 */
function idChar(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '_' || (c >= '+' && c <= '.');
}

export function validateId(id: string | undefined): string {
  if (!id) throw new RuntsError('container id cannot be empty');
  // "." and ".." would name the state root or its parent.
  // A loop rather than every() over a spread (src/lists.ts).
  for (let i = 0; i < id.length; i++) if (!idChar(id[i])) throw new RuntsError('invalid container ID format');
  if (id === '.' || id === '..') throw new RuntsError('invalid container ID format');
  return id;
}
