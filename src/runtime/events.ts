/**
 * `events`: a container's event stream as runc's: a `stats` event every interval and an
 * `oom` event when the kernel OOM-kills in its memory cgroup, until the container stops.
 */
import { RuntsError, StateError } from '../errors.ts';
import { addonFiles, cgroupStats, oomWatch } from '../native/index.ts';
import { validateId } from '../state/id.ts';
import { statusOf } from '../state/status.ts';
import { readState } from '../state/store.ts';

/**
 * One event. `json` is runc's line for it (`{"type":"stats","id":…,"data":{…}}`), exact: the
 * stats' 64-bit counters and limits (9223372036854771712) lose precision as JavaScript
 * numbers in `data`.
 */
export interface ContainerEvent {
  type: 'stats' | 'oom';
  id: string;
  data?: Record<string, unknown>;
  json: string;
}

function event(type: 'stats' | 'oom', id: string, rawData?: string): ContainerEvent {
  const json = `{"type":${JSON.stringify(type)},"id":${JSON.stringify(id)}${rawData === undefined ? '' : `,"data":${rawData}`}}`;
  return { type, id, data: rawData === undefined ? undefined : (JSON.parse(rawData) as Record<string, unknown>), json };
}

/** Go's time.ParseDuration for the units runc users write: "5s", "100ms", "1m30s", "2h". */
export function parseDuration(v: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let ms = 0;
  let at = 0;
  for (let m = re.exec(v); m; m = re.exec(v)) {
    ms += Number(m[1]) * units[m[2]];
    at = re.lastIndex;
  }
  if (!v || at !== v.length) throw new RuntsError(`invalid duration ${JSON.stringify(v)}`);
  return ms;
}

export interface EventOptions {
  /** Milliseconds between stats events (runc's --interval; default 5 s). */
  intervalMs?: number;
  /** Leave out the OOM events (a `stats` stream). */
  statsOnly?: boolean;
}

/** Yields the container's events until it stops (or is deleted). */
export async function* events(root: string, rawId: string, o: EventOptions = {}): AsyncGenerator<ContainerEvent> {
  const id = validateId(rawId);
  const intervalMs = o.intervalMs ?? 5000;
  const s = readState(addonFiles, root, id);
  if (statusOf(addonFiles, root, s) === 'stopped') throw new StateError(`container with id ${id} is not running`, 'stopped');
  if (!s.cgroup) throw new RuntsError(`container ${id} has no cgroup`);
  const c = s.cgroup;
  let watch: { wait(ms: number): Promise<string> } | undefined;
  if (!o.statsOnly) {
    try {
      watch = oomWatch(id, c);
    } catch {
      // no memory cgroup: stats only
    }
  }
  let next = Date.now();
  for (;;) {
    try {
      if (statusOf(addonFiles, root, readState(addonFiles, root, id)) === 'stopped') return;
    } catch {
      return; // deleted meanwhile
    }
    if (Date.now() >= next) {
      yield event('stats', id, cgroupStats(id, c));
      next = Date.now() + intervalMs;
    }
    const wait = Math.max(0, Math.min(next - Date.now(), 1000));
    const ev = watch ? await watch.wait(wait) : (await new Promise((r) => setTimeout(r, wait)), 'timeout');
    if (ev === 'oom') yield event('oom', id);
    if (ev === 'gone') watch = undefined;
  }
}

/** One `stats` event now (runc's `events --stats`). */
export function statsEvent(id: string, rawData: string): ContainerEvent {
  return event('stats', id, rawData);
}
