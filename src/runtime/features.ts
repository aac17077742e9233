/**
 * The runtime-spec features document (features.md), truthful to this build: mount options,
 * capabilities and namespaces are the Rust core's own tables (generated into
 * src/spec/tables.generated.ts, so no addon load); what runts does not do yet (AppArmor,
 * SELinux) is reported absent or disabled.
 */
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { CAPABILITIES, MOUNT_OPTIONS, NAMESPACES, SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_FLAGS, SECCOMP_OPERATORS } from '../spec/tables.generated.ts';
import { COMMIT, SPEC_VERSION_MAX, VERSION } from '../version.ts';
import { HOOK_KINDS } from '../spec/validate.ts';

/** runtime-spec features.md, as far as runts fills it. */
export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks: string[];
  mountOptions: string[];
  linux: {
    namespaces: string[];
    capabilities: string[];
    cgroup: { v1: boolean; v2: boolean; systemd: boolean; systemdUser: boolean };
    seccomp: { enabled: boolean; actions: string[]; operators: string[]; archs: string[]; knownFlags: string[]; supportedFlags: string[] };
    apparmor: { enabled: boolean };
    selinux: { enabled: boolean };
    /** features-linux.md: idmapped mounts (containerd's CRI enables user-namespaced pods on it). */
    mountExtensions: { idmap: { enabled: boolean } };
  };
  annotations: Record<string, string>;
}

/** Whether the running kernel is at least major.minor (uname's release). */
function kernelAtLeast(major: number, minor: number): boolean {
  const [a = 0, b = 0] = release().split('.').map((n) => Number.parseInt(n, 10));
  return a > major || (a === major && b >= minor);
}

export function features(): Features {
  // The namespace types this kernel has.
  const namespaces = NAMESPACES.filter((n) => existsSync(`/proc/self/ns/${n.procFile}`)).map((n) => n.type).sort();
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: SPEC_VERSION_MAX,
    hooks: [...HOOK_KINDS],
    mountOptions: [...MOUNT_OPTIONS],
    linux: {
      namespaces,
      capabilities: [...CAPABILITIES],
      cgroup: { v1: true, v2: true, systemd: true, systemdUser: true },
      seccomp: {
        enabled: true,
        actions: [...SECCOMP_ACTIONS],
        operators: [...SECCOMP_OPERATORS],
        archs: [...SECCOMP_ARCHES],
        knownFlags: [...SECCOMP_FLAGS],
        // Each applied by seccomp(2) itself; WAIT_KILLABLE_RECV needs Linux 5.19.
        supportedFlags: SECCOMP_FLAGS.filter((f) => f !== 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV' || kernelAtLeast(5, 19)),
      },
      // Supported by this build (features.md); whether the host has them is another matter.
      apparmor: { enabled: true },
      selinux: { enabled: true },
      // mount_setattr(MOUNT_ATTR_IDMAP) came with Linux 5.12 (crates/core/src/idmap.rs).
      mountExtensions: { idmap: { enabled: kernelAtLeast(5, 12) } },
    },
    annotations: {
      'org.opencontainers.runts.commit': COMMIT,
      'org.opencontainers.runts.version': VERSION,
    },
  };
}
