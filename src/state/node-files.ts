/** The Files of ./files.ts through node:fs, loaded on the first call. */
import { fsError } from '../errors.ts';
import type { Files } from './files.ts';
import { builtinModule } from '../builtins.ts';

type NodeFs = typeof import('node:fs');
let loaded: NodeFs | undefined;

/** node:fs, synchronously and only when a call needs it (src/builtins.ts). */
function fs(): NodeFs {
  return (loaded ??= builtinModule<NodeFs>('node:fs'));
}

function attempt<T>(op: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw fsError(op, path, e);
  }
}

export const nodeFiles: Files = {
  read(path) {
    try {
      return fs().readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fsError('read', path, e);
    }
  },
  exists: (path) => fs().existsSync(path),
  remove: (path, tree = false) => attempt('remove', path, () => fs().rmSync(path, { recursive: tree, force: true })),
  stat: (path) =>
    attempt('stat', path, () => {
      const s = fs().statSync(path);
      return { isDir: s.isDirectory(), dev: s.dev, ino: s.ino };
    }),
  realpath: (path) => attempt('realpath', path, () => fs().realpathSync(path)),
  mkdir: (path, mode, parents = false) => attempt('mkdir', path, () => void fs().mkdirSync(path, { mode, recursive: parents })),
  replace(path, tmp, text, mode) {
    const f = fs();
    try {
      f.writeFileSync(tmp, text, { mode });
      f.renameSync(tmp, path);
    } catch (e) {
      f.rmSync(tmp, { force: true });
      throw fsError('write', path, e);
    }
  },
};
