/** Container ids, checked as runc checks them (libcontainer/factory_linux.go validateID). */
import { RuntsError } from '../errors.ts';

// runc: ^[\w+-\.]+$ — the class holds the range "+".."." (so "," too), "_", letters and digits.
const ID = /^[\w+,.-]+$/;

export function validateId(id: string | undefined): string {
  if (!id) throw new RuntsError('container id cannot be empty');
  // "." and ".." would name the state root or its parent.
  if (!ID.test(id) || id === '.' || id === '..') throw new RuntsError('invalid container ID format');
  return id;
}
