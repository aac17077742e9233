/**
 * The few path operations runts needs, as node:path's POSIX ones do them: under Bun, loading
 * node:path costs an engine call ~0.6 ms and 2.4 MB (docs/benchmarks.md), for string work.
 * test/unit/paths.test.ts compares them with node:path.
 */

/** `path` made absolute against the working directory and normalised (path.resolve). */
export function absolute(path: string, base?: string): string {
  if (path.startsWith('/')) return normal(path);
  return normal(`${base === undefined ? process.cwd() : absolute(base)}/${path}`);
}

/** `dir/name`, normalised (path.join of two parts, for an absolute `dir`). */
export function joinPath(dir: string, name: string): string {
  return normal(`${dir}/${name}`);
}

/** The directory part of an absolute path (path.dirname). */
export function dirName(path: string): string {
  const p = normal(path);
  const at = p.lastIndexOf('/');
  return at <= 0 ? '/' : p.slice(0, at);
}

/** The last component of an absolute path (path.basename). */
export function baseName(path: string): string {
  const p = normal(path);
  return p.slice(p.lastIndexOf('/') + 1);
}

/** An absolute path with no empty, "." or ".." components and no trailing slash. */
function normal(path: string): string {
  const out: string[] = [];
  for (const c of path.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return `/${out.join('/')}`;
}

/**
 * The temporary directory (os.tmpdir's rule: $TMPDIR, else /tmp). The compiled runts puts its
 * addon in an unnamed file there only where memfds cannot be executable (src/native/addon.ts),
 * and `runts check` judges that directory.
 */
export function tmpDir(): string {
  return process.env.TMPDIR || '/tmp';
}

/**
 * Where a root runtime keeps the one copy of each build's addon that it maps directly
 * (src/native/addon.ts): a directory only root can write (/var/lib is root's; runts makes the
 * two levels 0700), on disk and not under /run, which Debian's and Ubuntu's initramfs mount
 * noexec. `runts check` names it.
 */
export const ADDON_CACHE = '/var/lib/runts/addon';
