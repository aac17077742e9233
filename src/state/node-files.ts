/** The store's files through node:fs (see ./files.ts). */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fsError } from '../errors.ts';
import type { Files } from './files.ts';

export const nodeFiles: Files = {
  read(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fsError('read', path, e);
    }
  },
  exists: (path) => existsSync(path),
  remove(path, tree = false) {
    try {
      rmSync(path, { recursive: tree, force: true });
    } catch (e) {
      throw fsError('remove', path, e);
    }
  },
};
