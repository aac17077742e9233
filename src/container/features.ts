/**
 * The runtime-spec features document (features.md), truthful to this build: mount options,
 * capabilities and namespaces come from the Rust core itself; what runts does not do yet
 * (hooks, seccomp, AppArmor, SELinux, the rootless systemd driver) is reported absent or
 * disabled.
 */
import { nativeFeatures } from '../native/index.ts';
import { COMMIT, SPEC_VERSION, VERSION } from '../version.ts';

export function features(): Record<string, unknown> {
  const n = nativeFeatures();
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: SPEC_VERSION,
    hooks: [],
    mountOptions: n.mountOptions,
    linux: {
      namespaces: n.namespaces,
      capabilities: n.capabilities,
      cgroup: { v1: true, v2: true, systemd: true, systemdUser: false },
      seccomp: { enabled: false },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: {
      'org.opencontainers.runts.commit': COMMIT,
      'org.opencontainers.runts.version': VERSION,
    },
  };
}
