/**
 * OCI `linux.resources` → the core's `Resources` (crates/core/src/cgroups/config.rs), used by
 * `create` and by `update`. Only what the spec sets is carried (None = not written, as runc);
 * values of 2^63 or more (OCI's "max" written as 2^64-1, which JSON.parse rounds) become -1.
 */
import type {
  CgroupSpec,
  Resources as NativeResources,
  ThrottleDevice as NativeThrottle,
} from '../native/binding.js';
import type { Resources, Spec, ThrottleDevice } from './types.ts';
import { map } from '../lists.ts';

/** An i64 across the boundary: -1 stands for anything at or above 2^63 (unlimited). */
function i64(v: number | undefined): number | undefined {
  if (v === undefined || v === null) return undefined;
  return v >= 2 ** 63 ? -1 : v;
}

function throttles(list: ThrottleDevice[] | undefined): NativeThrottle[] | undefined {
  return list && map(list, (d) => ({ major: d.major, minor: d.minor, rate: i64(d.rate) ?? 0 }));
}

/**
 * A device rule's access as the kernel takes it: the r, w and m it names, in that order. runc
 * 1.1.5 ignores any other letter (engines have sent "rwa"); specWarnings reports them.
 */
export function deviceAccess(access: string): string {
  return (access.includes('r') ? 'r' : '') + (access.includes('w') ? 'w' : '') + (access.includes('m') ? 'm' : '');
}

export function toNativeResources(r: Resources, devicePaths?: string[]): NativeResources {
  const out: NativeResources = {};
  if (r.devices) {
    out.devices = map(r.devices, (d) => ({
      allow: d.allow,
      devType: d.type,
      major: d.major ?? undefined,
      minor: d.minor ?? undefined,
      access: d.access === undefined ? undefined : deviceAccess(d.access),
    }));
    if (devicePaths) out.devicePaths = devicePaths;
  }
  const m = r.memory;
  if (m) {
    out.memory = {
      limit: i64(m.limit),
      reservation: i64(m.reservation),
      swap: i64(m.swap),
      kernel: i64(m.kernel),
      kernelTcp: i64(m.kernelTCP),
      swappiness: i64(m.swappiness),
      disableOomKiller: m.disableOOMKiller,
      useHierarchy: m.useHierarchy,
      checkBeforeUpdate: m.checkBeforeUpdate,
    };
  }
  const c = r.cpu;
  if (c) {
    out.cpu = {
      shares: i64(c.shares),
      quota: i64(c.quota),
      burst: i64(c.burst),
      period: i64(c.period),
      realtimeRuntime: i64(c.realtimeRuntime),
      realtimePeriod: i64(c.realtimePeriod),
      cpus: c.cpus,
      mems: c.mems,
      idle: i64(c.idle),
    };
  }
  if (r.pids) out.pidsLimit = i64(r.pids.limit);
  const b = r.blockIO;
  if (b) {
    out.blockIo = {
      weight: i64(b.weight),
      leafWeight: i64(b.leafWeight),
      weightDevice: b.weightDevice && map(b.weightDevice, (d) => ({
        major: d.major,
        minor: d.minor,
        weight: i64(d.weight),
        leafWeight: i64(d.leafWeight),
      })),
      throttleReadBpsDevice: throttles(b.throttleReadBpsDevice),
      throttleWriteBpsDevice: throttles(b.throttleWriteBpsDevice),
      throttleReadIopsDevice: throttles(b.throttleReadIOPSDevice),
      throttleWriteIopsDevice: throttles(b.throttleWriteIOPSDevice),
    };
  }
  if (r.hugepageLimits) {
    out.hugepageLimits = map(r.hugepageLimits, (h) => ({ pageSize: h.pageSize, limit: i64(h.limit) ?? 0 }));
  }
  if (r.network) {
    out.network = {
      classId: i64(r.network.classID),
      priorities: r.network.priorities && map(r.network.priorities, (p) => ({ name: p.name, priority: p.priority })),
    };
  }
  if (r.rdma) {
    out.rdma = map(Object.entries(r.rdma), ([device, l]) => ({
      device,
      hcaHandles: i64(l.hcaHandles),
      hcaObjects: i64(l.hcaObjects),
    }));
  }
  if (r.unified) out.unified = map(Object.entries(r.unified), ([key, value]) => ({ key, value }));
  return out;
}

/** Where and how the container's cgroup is made: `linux.cgroupsPath`, the driver, resources. */
export function toCgroupSpec(spec: Spec, id: string, driver: { systemd: boolean; rootless: boolean }): CgroupSpec {
  const r = spec.linux?.resources;
  return {
    cgroupsPath: spec.linux?.cgroupsPath ?? '',
    systemd: driver.systemd,
    rootless: driver.rootless,
    id,
    resources: r ? toNativeResources(r, map(spec.linux?.devices, (d) => d.path)) : undefined,
  };
}
