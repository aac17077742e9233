/**
 * Printing to stdout without touching `process.stdout` (its first use costs ~10 ms of startup
 * under Bun): a synchronous write loop on fd 1 that also survives a non-blocking pipe. Bytes
 * from TextEncoder rather than Buffer, whose first use costs an engine call ~0.4 ms.
 */
import { writeSync } from 'node:fs';

export function print(text: string): void {
  const buf = new TextEncoder().encode(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}
