/** Signal names and numbers as `runc kill` accepts them: KILL, SIGKILL, 9. */
import { constants } from 'node:os';
import { RuntsError } from '../errors.ts';

export function parseSignal(raw: string): number {
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    // 0 is runc's liveness probe: nothing is sent, the call fails if the init is gone.
    if (n >= 0 && n < 65) return n;
  } else {
    const name = raw.toUpperCase().startsWith('SIG') ? raw.toUpperCase() : `SIG${raw.toUpperCase()}`;
    const n = (constants.signals as Record<string, number | undefined>)[name];
    if (n !== undefined) return n;
  }
  throw new RuntsError(`unknown signal "${raw}"`);
}
