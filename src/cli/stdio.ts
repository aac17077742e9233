/**
 * Writing to stdout and stderr without `node:fs` under Bun: importing it costs a call of the
 * compiled binary ~1.1 ms before its first line runs (a probe: an empty binary's first line at
 * 2.5-2.7 ms, with `import { writeSync } from 'node:fs'` at 3.4-4.5), while `Bun.write` to
 * `Bun.stdout` costs nothing measurable. Under Node and Deno, a write(2) loop on the
 * descriptor through `node:fs`, loaded on first use; it survives a non-blocking pipe (EAGAIN).
 * Never `process.stdout`: its first use costs ~10 ms of startup under Bun.
 */
interface BunIo {
  write(dest: unknown, data: string): Promise<number>;
  stdout: unknown;
  stderr: unknown;
}

export async function writeOut(fd: 1 | 2, text: string): Promise<void> {
  const bun = (globalThis as { Bun?: BunIo }).Bun;
  if (bun) {
    await bun.write(fd === 1 ? bun.stdout : bun.stderr, text);
    return;
  }
  const { writeSync } = await import('node:fs');
  const buf = new TextEncoder().encode(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}
