/**
 * `events`: runc's event stream for a container, one JSON object per line:
 * `{"type":"stats","id":…,"data":{…}}` every --interval (once with --stats), and
 * `{"type":"oom","id":…}` when the kernel OOM-kills in its memory cgroup. Ends when the
 * container stops.
 */
import { print } from '../cli/output.ts';
import { RuntsError } from '../errors.ts';
import { cgroupStats, oomWatch } from '../native/index.ts';
import { validateId } from '../state/id.ts';
import { statusOf } from '../state/status.ts';
import { readState } from '../state/store.ts';

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

export async function streamEvents(root: string, rawId: string, stats: boolean, intervalMs: number): Promise<void> {
  const id = validateId(rawId);
  const s = readState(root, id);
  if (statusOf(root, s) === 'stopped') throw new RuntsError(`container with id ${id} is not running`);
  if (!s.cgroup) throw new RuntsError(`container ${id} has no cgroup`);
  const c = s.cgroup;
  // The stats come as JSON text from the core and are spliced in unparsed: their 64-bit
  // counters and limits (9223372036854771712) do not survive a JavaScript number.
  const emit = (type: string, rawData?: string) =>
    print(`{"type":${JSON.stringify(type)},"id":${JSON.stringify(id)}${rawData === undefined ? '' : `,"data":${rawData}`}}\n`);
  if (stats) {
    emit('stats', cgroupStats(id, c));
    return;
  }
  let watch: { wait(ms: number): Promise<string> } | undefined;
  try {
    watch = oomWatch(id, c);
  } catch {
    // no memory cgroup: stats only
  }
  let next = Date.now();
  for (;;) {
    try {
      if (statusOf(root, readState(root, id)) === 'stopped') return;
    } catch {
      return; // deleted meanwhile
    }
    if (Date.now() >= next) {
      emit('stats', cgroupStats(id, c));
      next = Date.now() + intervalMs;
    }
    const wait = Math.max(0, Math.min(next - Date.now(), 1000));
    const ev = watch ? await watch.wait(wait) : (await new Promise((r) => setTimeout(r, wait)), 'timeout');
    if (ev === 'oom') emit('oom');
    if (ev === 'gone') watch = undefined;
  }
}
