/**
 * Drop-in under Kubernetes' CRI: containerd 1.6's CRI plugin, driven by crictl (cri-tools
 * v1.34, built by test/engines/containerd.sh), with a RuntimeClass handler `runts` whose
 * runtime is io.containerd.runc.v2 with BinaryName = the runtime under test, and a `runc`
 * handler (Debian's runc) that runs the same scenarios beside it.
 *
 * The daemon is private to this file: its own root, state, socket and config in a temp dir;
 * the pods' cgroup parents under /runts-cri-<pid>; its own CNI conf dir and bin dir (the
 * Debian plugins linked in) with a bridge network written here (own bridge name, a free
 * /24, host-local IPAM state in the temp dir, no gateway and no masquerade, so the host's
 * sysctls and iptables are left alone); the network namespaces under its state dir. The sandbox
 * image is a locally built static `pause` (test/engines/oci-image.sh): nothing is pulled.
 *
 * Machine notes (what the CRI plugin needed here): `restrict_oom_score_adj = true` (the pause
 * container asks for oom_score_adj -998, and this machine has no CAP_SYS_RESOURCE to lower a
 * score); host-network pods set no hostname (there is no UTS namespace of their own to set it
 * in).
 *
 * After every test the whole daemon must be idle again: no pod, no container, no shim (process
 * or socket), no bundle, no runtime state, no process or cgroup below the pod's cgroup parent
 * (the parent itself is kubelet's to remove, so the test does), no mount under the state dir
 * (rootfs, /dev/shm, netns), no IP still reserved, no CNI result cached for our network.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, BIN_IS_RUNC, RUNC, SKIP_REASON, assertBinary, callRaw, describeCall, ensureSubreaper, inTerminal, mountsUnder, poll, procCgroups, requireRunc } from './helpers.ts';
import type { CallResult } from './helpers.ts';
import {
  CRICTL,
  Containerd,
  OCI_IMAGE_SH,
  cgroupDirsAt,
  containerdMissing,
  daemonLeftovers,
  entries,
  forceCleanup,
  hostCgroupDir,
  mustCall,
  processesInCgroup,
  processesUsing,
  removeCgroupTree,
  settle,
  skipUnlessCommand,
  toml,
} from './engines.ts';

ensureSubreaper();

const PID = process.pid;
const CG = `/runts-cri-${PID}`;
const K8S_NS = 'k8s.io';
const IMAGE = `docker.io/library/runts-busybox:${PID}`;
const PAUSE_IMAGE = `registry.k8s.io/pause:runts-${PID}`;
const NETWORK = `runts-cri-${PID}`;
const BRIDGE = `rts${PID}`.slice(0, 15);
const CNI_PLUGINS = '/usr/lib/cni';
const CNI_RESULTS = '/var/lib/cni/results'; // libcni's cache; containerd 1.6 has no option for it
const TEST_TIMEOUT = 90_000;

interface Handler {
  /** The RuntimeClass handler name (`crictl runp --runtime NAME`). */
  name: string;
  bin: string;
}
/** `runts` is the runtime under test whatever it is (runc when validating the suite). */
const HANDLERS: Handler[] = [{ name: 'runts', bin: BIN }];
// runc beside it, always: test/setup.sh installs it, so a missing runc fails `before`. When
// RUNTS_BIN is runc, handler runts runs runc already: a second set of runs would repeat its own
// (a visible skip).
if (!BIN_IS_RUNC) HANDLERS.push({ name: 'runc', bin: RUNC });

function skipReason(): string | false {
  if (SKIP_REASON) return SKIP_REASON;
  const cd = containerdMissing();
  if (cd) return cd;
  if (!fs.existsSync(CRICTL)) return `${CRICTL} not built (test/engines/containerd.sh builds crictl)`;
  for (const p of ['bridge', 'loopback', 'host-local']) {
    if (!fs.existsSync(path.join(CNI_PLUGINS, p))) return `CNI plugin ${CNI_PLUGINS}/${p} not installed (Debian containernetworking-plugins)`;
  }
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (ip) not installed';
  return false;
}

/** A /24 in 10.213.0.0/16 that no route on this machine uses yet. */
function freeSubnet(): string {
  const routes = spawnSync('ip', ['-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' }).stdout ?? '';
  for (let i = 0; i < 250; i++) {
    const n = ((PID + i) % 250) + 1;
    if (!routes.includes(`10.213.${n}.`)) return `10.213.${n}.0/24`;
  }
  throw new Error('no free 10.213.x.0/24 subnet');
}

/** A pod's namespace modes (CRI NamespaceMode: POD = 0, CONTAINER = 1, NODE = 2). */
const POD = 0;
const CONTAINER = 1;
const NODE = 2;

describe('containerd 1.6 CRI plugin driven by crictl, RuntimeClass handlers runts and runc', { skip: skipReason() }, () => {
  let dir = '';
  let cd: Containerd;
  let crictlConfig = '';
  let subnet = '';

  const runtimeRoot = (h: Handler) => path.join(dir, 'runtime-root', h.name);
  const ipamDir = () => path.join(dir, 'cni', 'ipam');

  before(async () => {
    assertBinary(BIN);
    requireRunc();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-cri-'));
    fs.chmodSync(dir, 0o755);
    subnet = freeSubnet();

    // CNI: a private conf dir and bin dir, and a bridge network of our own.
    const confDir = path.join(dir, 'cni', 'net.d');
    const binDir = path.join(dir, 'cni', 'bin');
    fs.mkdirSync(confDir, { recursive: true });
    fs.mkdirSync(binDir, { recursive: true });
    for (const p of ['bridge', 'loopback', 'host-local']) fs.symlinkSync(path.join(CNI_PLUGINS, p), path.join(binDir, p));
    fs.writeFileSync(
      path.join(confDir, '10-runts-test.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: NETWORK,
        plugins: [
          {
            type: 'bridge',
            bridge: BRIDGE,
            // No gateway (it would turn on net.ipv4.ip_forward for the whole host) and no
            // masquerade (iptables rules): the test only checks the pod's own interface.
            isGateway: false,
            ipMasq: false,
            ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir: ipamDir() },
          },
        ],
      }),
    );

    const runtimes = [{ name: 'runts', bin: BIN }, { name: 'runc', bin: RUNC }]
      .map((h) => [
        `    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${h.name}]`,
        '      runtime_type = "io.containerd.runc.v2"',
        `      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${h.name}.options]`,
        `        BinaryName = ${toml(h.bin)}`,
        `        Root = ${toml(runtimeRoot(h))}`,
      ].join('\n'))
      .join('\n');
    const criToml = [
      '[plugins."io.containerd.grpc.v1.cri"]',
      `  sandbox_image = ${toml(PAUSE_IMAGE)}`,
      // No CAP_SYS_RESOURCE here: an oom_score_adj below ours (the sandbox asks for -998)
      // would fail; restricted, it is clamped to ours.
      '  restrict_oom_score_adj = true',
      '  netns_mounts_under_state_dir = true',
      '  stream_server_address = "127.0.0.1"',
      '  stream_server_port = "0"',
      '  enable_selinux = false',
      '  [plugins."io.containerd.grpc.v1.cri".containerd]',
      '    default_runtime_name = "runts"',
      '    snapshotter = "overlayfs"',
      runtimes,
      '  [plugins."io.containerd.grpc.v1.cri".cni]',
      `    bin_dir = ${toml(binDir)}`,
      `    conf_dir = ${toml(confDir)}`,
      '    max_conf_num = 1',
      '',
    ].join('\n');
    cd = new Containerd({ dir, cgroupParent: CG, criToml });
    await cd.start();

    crictlConfig = path.join(dir, 'crictl.yaml');
    fs.writeFileSync(crictlConfig, `runtime-endpoint: unix://${cd.socket}\nimage-endpoint: unix://${cd.socket}\ntimeout: 30\ndebug: false\npull-image-on-create: false\n`);

    const build = (args: string[]) => {
      const r = callRaw('bash', [OCI_IMAGE_SH, ...args], { timeoutMs: 60_000 });
      assert.equal(r.status, 0, describeCall(r));
    };
    build(['busybox', IMAGE, path.join(dir, 'busybox.tar')]);
    build(['pause-image', PAUSE_IMAGE, path.join(dir, 'pause.tar')]);
    cd.ctrOk(K8S_NS, ['images', 'import', path.join(dir, 'busybox.tar')], 60_000);
    cd.ctrOk(K8S_NS, ['images', 'import', path.join(dir, 'pause.tar')], 60_000);
    // The CRI plugin learns about imported images from containerd's events.
    for (const img of [IMAGE, PAUSE_IMAGE]) {
      await poll(`the CRI plugin to see ${img}`, () => (crictl(['inspecti', img]).status === 0 ? true : undefined));
    }
    await poll('the CRI runtime and network to be ready', () => {
      const r = crictl(['info']);
      if (r.status !== 0) return undefined;
      const conds = (JSON.parse(r.stdout) as { status?: { conditions?: { type: string; status: boolean }[] } }).status?.conditions ?? [];
      return conds.length > 0 && conds.every((c) => c.status) ? true : undefined;
    });
  });

  after(async () => {
    if (!cd) return;
    // Backstop for tests that failed before their own cleanup.
    let left: string[] = [];
    if (cd.pid !== undefined) {
      left = crictl(['pods', '-q']).stdout.split('\n').filter(Boolean);
      for (const p of left) {
        crictl(['stopp', p]);
        crictl(['rmp', '-f', p]);
      }
      crictl(['rmi', IMAGE, PAUSE_IMAGE]);
    }
    await cd.stop();
    spawnSync('ip', ['link', 'del', BRIDGE], { stdio: 'ignore' });
    const problems = await settle(() => {
      const p = daemonLeftovers(dir, CG);
      for (const h of HANDLERS) {
        const states = entries(path.join(runtimeRoot(h), K8S_NS));
        if (states.length > 0) p.push(`${h.name} state left: ${states.join(', ')}`);
      }
      return p;
    });
    forceCleanup(dir, CG);
    assert.deepEqual(left, [], 'pods left for the final cleanup');
    assert.deepEqual(problems, [], 'containerd left things behind');
    assert.equal(fs.existsSync(dir), false, `${dir} not removed`);
  });

  function crictl(args: string[], timeoutMs = 60_000): CallResult {
    return callRaw(CRICTL, ['--config', crictlConfig, ...args], { timeoutMs });
  }
  function crictlOk(args: string[], timeoutMs = 60_000): string {
    return mustCall(CRICTL, ['--config', crictlConfig, ...args], { timeoutMs }).stdout;
  }

  interface PodOptions {
    network: number;
    pid?: number;
    hostname?: string;
  }

  /** One pod sandbox of one test; removed (stopp + rmp) by t.after if the test did not. */
  class Pod {
    readonly name: string;
    readonly logDir: string;
    readonly configFile: string;
    id = '';
    constructor(
      t: TestContext,
      readonly handler: Handler,
      label: string,
      readonly opts: PodOptions,
    ) {
      this.name = `${label}-${handler.name}-${PID}`;
      this.logDir = path.join(dir, 'pods', this.name);
      fs.mkdirSync(this.logDir, { recursive: true });
      this.configFile = path.join(dir, `${this.name}.pod.json`);
      fs.writeFileSync(
        this.configFile,
        JSON.stringify({
          metadata: { name: this.name, namespace: 'runts-test', uid: `uid-${this.name}`, attempt: 0 },
          ...(opts.hostname ? { hostname: opts.hostname } : {}),
          log_directory: this.logDir,
          linux: {
            cgroup_parent: this.cgroupParent,
            security_context: { namespace_options: this.namespaceOptions },
          },
        }),
      );
      t.after(() => {
        if (this.id && cd.pid !== undefined) {
          crictl(['stopp', this.id]);
          crictl(['rmp', '-f', this.id]);
        }
        // The pod's cgroup parent is kubelet's to remove; a test that passed has already
        // checked that nothing below it was left.
        removeCgroupTree(this.cgroupParent);
      });
    }

    get cgroupParent(): string {
      return `${CG}/${this.name}`;
    }

    get namespaceOptions(): { network: number; pid: number; ipc: number } {
      return { network: this.opts.network, pid: this.opts.pid ?? CONTAINER, ipc: POD };
    }

    run(): void {
      this.id = crictlOk(['runp', '--runtime', this.handler.name, this.configFile]).trim();
      assert.match(this.id, /^[0-9a-f]{64}$/);
    }

    /** The sandbox (pause) process's host pid. */
    pid(): number {
      const info = JSON.parse(crictlOk(['inspectp', '-o', 'json', this.id])) as { info?: { pid?: number }; status?: { state?: string } };
      assert.equal(info.status?.state, 'SANDBOX_READY');
      assert.ok(info.info?.pid, 'no pid in crictl inspectp');
      return info.info.pid;
    }

    /** crictl create + start; the container's command is `sh -c SCRIPT`. */
    container(label: string, script: string, linux: Record<string, unknown> = {}): Ctr {
      const name = `${label}-${this.handler.name}`;
      const file = path.join(dir, `${this.name}.${label}.json`);
      fs.writeFileSync(
        file,
        JSON.stringify({
          metadata: { name, attempt: 0 },
          image: { image: IMAGE },
          command: ['sh', '-c', script],
          log_path: `${label}.log`,
          // The CRI takes a container's namespaces from its own config (kubelet copies the
          // pod's there): without them every mode is POD (0), a shared pid namespace included.
          linux: {
            ...linux,
            security_context: { ...(linux.security_context as object | undefined), namespace_options: this.namespaceOptions },
          },
        }),
      );
      const id = crictlOk(['create', this.id, file, this.configFile]).trim();
      assert.match(id, /^[0-9a-f]{64}$/);
      crictlOk(['start', id]);
      return new Ctr(this, id);
    }

    /** crictl stopp + rmp. */
    remove(): void {
      crictlOk(['stopp', this.id]);
      crictlOk(['rmp', this.id]);
    }
  }

  class Ctr {
    constructor(
      readonly pod: Pod,
      readonly id: string,
    ) {}

    inspect(): { state: string; exitCode: number; pid: number } {
      const j = JSON.parse(crictlOk(['inspect', '-o', 'json', this.id])) as { status: { state: string; exitCode?: number }; info?: { pid?: number } };
      return { state: j.status.state, exitCode: j.status.exitCode ?? 0, pid: j.info?.pid ?? 0 };
    }

    pid(): number {
      const i = this.inspect();
      assert.equal(i.state, 'CONTAINER_RUNNING');
      assert.ok(i.pid > 0, 'no pid in crictl inspect');
      return i.pid;
    }

    logs(): string {
      const r = crictl(['logs', this.id]);
      return `${r.stdout}${r.stderr}`;
    }

    async waitLog(text: string | RegExp): Promise<string> {
      return poll(`${String(text)} in the logs of ${this.id} (${this.logs()})`, () => {
        const l = this.logs();
        return (typeof text === 'string' ? l.includes(text) : text.test(l)) ? l : undefined;
      });
    }

    /** crictl stop (SIGTERM, SIGKILL after `timeout` s) then the exit code; crictl rm. */
    stopAndRemove(timeout = 2): number {
      crictlOk(['stop', '--timeout', String(timeout), this.id]);
      const i = this.inspect();
      assert.equal(i.state, 'CONTAINER_EXITED');
      crictlOk(['rm', this.id]);
      return i.exitCode;
    }

    get cgroup(): string {
      return `${this.pod.cgroupParent}/${this.id}`;
    }
  }

  /** Everything a pod could leave; the daemon must be idle again after each test. */
  function leftovers(podIds: string[]): string[] {
    const p: string[] = [];
    const pods = crictl(['pods', '-q']).stdout.split('\n').filter(Boolean);
    if (pods.length > 0) p.push(`pods ${pods.join(' ')}`);
    const ctrs = crictl(['ps', '-a', '-q']).stdout.split('\n').filter(Boolean);
    if (ctrs.length > 0) p.push(`containers ${ctrs.join(' ')}`);
    const records = cd.ctr(K8S_NS, ['containers', 'ls', '-q']).stdout.split('\n').filter(Boolean);
    if (records.length > 0) p.push(`containerd containers ${records.join(' ')}`);
    const bundles = entries(path.join(cd.state, 'io.containerd.runtime.v2.task', K8S_NS));
    if (bundles.length > 0) p.push(`shim bundles ${bundles.join(' ')}`);
    for (const h of HANDLERS) {
      const states = entries(path.join(runtimeRoot(h), K8S_NS));
      if (states.length > 0) p.push(`${h.name} state ${states.join(' ')}`);
    }
    const shims = processesUsing(cd.socket).filter((x) => x.what.includes('containerd-shim'));
    if (shims.length > 0) p.push(`shim processes ${shims.map((x) => `${x.pid} ${x.what}`).join('; ')}`);
    for (const id of podIds) if (fs.existsSync(cd.shimSocket(K8S_NS, id))) p.push(`shim socket ${cd.shimSocket(K8S_NS, id)}`);
    const procs = processesInCgroup(CG);
    if (procs.length > 0) p.push(`processes in ${CG}: ${procs.map((x) => `${x.pid} ${x.cgroup}`).join('; ')}`);
    // Pod parents (CG/<pod>) are kubelet's; anything below them is the runtime's.
    const cgs = cgroupDirsAt(CG).flatMap((top) =>
      entries(top)
        .filter((e) => fs.statSync(path.join(top, e)).isDirectory())
        .flatMap((pod) => entries(path.join(top, pod)).filter((e) => fs.statSync(path.join(top, pod, e)).isDirectory()).map((e) => path.join(top, pod, e))),
    );
    if (cgs.length > 0) p.push(`cgroups ${cgs.join(', ')}`);
    const mounts = mountsUnder(cd.state);
    if (mounts.length > 0) p.push(`mounts ${mounts.map((m) => m.mountPoint).join(', ')}`);
    const reserved = entries(path.join(ipamDir(), NETWORK)).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip'));
    if (reserved.length > 0) p.push(`IPs still reserved: ${reserved.join(' ')}`);
    const cached = entries(CNI_RESULTS).filter((f) => f.startsWith(`${NETWORK}-`));
    if (cached.length > 0) p.push(`CNI results cached in ${CNI_RESULTS}: ${cached.join(' ')}`);
    return p;
  }

  async function assertIdle(pods: Pod[]): Promise<void> {
    const p = await settle(() => leftovers(pods.map((x) => x.id)));
    assert.deepEqual(p, [], 'the pod left things behind');
  }

  const ns = (pid: number, kind: string) => fs.readlinkSync(`/proc/${pid}/ns/${kind}`);

  if (BIN_IS_RUNC) {
    it('handler runc, beside the runtime under test', { skip: 'RUNTS_BIN is runc: the runs of handler runts are runc\'s, a second set would repeat them' }, () => {});
  }

  for (const h of HANDLERS) {
    describe(`handler ${h.name} (${h.bin})`, { timeout: 5 * 60_000 }, () => {
      it('host-network pod: sandbox, container, logs, stats, stop, remove', { timeout: TEST_TIMEOUT }, async (t) => {
        const pod = new Pod(t, h, 'host', { network: NODE }); // no hostname: no UTS namespace of its own
        pod.run();
        const pausePid = pod.pid();
        assert.equal(procCgroups(pausePid)?.get('memory'), `${pod.cgroupParent}/${pod.id}`);
        const c = pod.container('main', 'echo hello; id -u; echo "pid $$"; exec sleep 1000');
        const pid = c.pid();
        const logs = await c.waitLog('pid 1');
        assert.match(logs, /^hello$/m);
        assert.match(logs, /^0$/m);
        assert.equal(procCgroups(pid)?.get('memory'), c.cgroup);
        // Host network: the sandbox and the container are in our network namespace.
        assert.equal(ns(pausePid, 'net'), ns(process.pid, 'net'));
        assert.equal(ns(pid, 'net'), ns(process.pid, 'net'));
        const stats = JSON.parse(crictlOk(['stats', '-o', 'json', '--id', c.id])) as {
          stats: { attributes: { id: string }; cpu?: { usageCoreNanoSeconds?: { value: string } }; memory?: { workingSetBytes?: { value: string } } }[];
        };
        assert.equal(stats.stats.length, 1, JSON.stringify(stats));
        assert.equal(stats.stats[0].attributes.id, c.id);
        assert.ok(Number(stats.stats[0].cpu?.usageCoreNanoSeconds?.value ?? 0) > 0, JSON.stringify(stats.stats[0].cpu));
        assert.ok(Number(stats.stats[0].memory?.workingSetBytes?.value ?? 0) > 0, JSON.stringify(stats.stats[0].memory));
        // sleep as pid 1 ignores SIGTERM: crictl stop falls back to SIGKILL after the timeout.
        assert.equal(c.stopAndRemove(1), 137);
        pod.remove();
        await assertIdle([pod]);
      });

      it('CNI bridge pod: eth0 on our network; the container shares the sandbox\'s net, ipc and uts namespaces', { timeout: TEST_TIMEOUT }, async (t) => {
        const pod = new Pod(t, h, 'bridge', { network: POD, hostname: 'rts-pod' });
        pod.run();
        const pausePid = pod.pid();
        const c = pod.container('main', 'hostname; ip -4 -o addr show dev eth0; echo done; exec sleep 1000');
        const pid = c.pid();
        const logs = await c.waitLog('done');
        assert.match(logs, /^rts-pod$/m);
        const prefix = subnet.split('.').slice(0, 3).join('.');
        assert.match(logs, new RegExp(`eth0\\s+inet ${prefix.replace(/\./g, '\\.')}\\.\\d+/24 `), logs);
        for (const kind of ['net', 'ipc', 'uts']) assert.equal(ns(pid, kind), ns(pausePid, kind), `${kind} namespace not shared with the sandbox`);
        for (const kind of ['pid', 'mnt']) assert.notEqual(ns(pid, kind), ns(pausePid, kind), `${kind} namespace shared with the sandbox`);
        assert.notEqual(ns(pausePid, 'net'), ns(process.pid, 'net'));
        // The pod's veth is on our bridge.
        const veths = spawnSync('ip', ['-o', 'link', 'show', 'master', BRIDGE], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
        assert.equal(veths.length, 1, veths.join('\n'));
        // The leftover checks look in the right places: a live pod shows in each.
        const live = leftovers([pod.id]);
        for (const kind of ['pods', 'containers', 'containerd containers', 'shim bundles', `${h.name} state`, 'shim processes', 'shim socket', 'processes in', 'cgroups', 'mounts', 'IPs still reserved', 'CNI results cached']) {
          assert.ok(live.some((l) => l.startsWith(kind)), `a live pod is not seen as "${kind}": ${live.join('; ')}`);
        }
        assert.equal(c.stopAndRemove(1), 137);
        pod.remove();
        await assertIdle([pod]);
      });

      it('pod with a shared pid namespace: the container sees the pause process as pid 1', { timeout: TEST_TIMEOUT }, async (t) => {
        const pod = new Pod(t, h, 'pidns', { network: NODE, pid: POD });
        pod.run();
        const pausePid = pod.pid();
        const c = pod.container('main', 'echo "init $(cat /proc/1/cmdline)"; echo "me $$"; exec sleep 1000');
        const pid = c.pid();
        const logs = await c.waitLog(/^me \d+$/m);
        assert.match(logs, /^init \/pause$/m);
        assert.doesNotMatch(logs, /^me 1$/m);
        assert.equal(ns(pid, 'pid'), ns(pausePid, 'pid'));
        // Not pid 1 of its namespace this time, sleep dies of crictl stop's SIGTERM.
        assert.equal(c.stopAndRemove(1), 143);
        pod.remove();
        await assertIdle([pod]);
      });

      it('runAsUser / runAsGroup 1000 from the container\'s security context', { timeout: TEST_TIMEOUT }, async (t) => {
        const pod = new Pod(t, h, 'user', { network: NODE });
        pod.run();
        const c = pod.container('main', 'id; grep -E "^(Uid|Gid):" /proc/self/status; echo done; exec sleep 1000', {
          security_context: { run_as_user: { value: 1000 }, run_as_group: { value: 1000 } },
        });
        const pid = c.pid();
        const logs = await c.waitLog('done');
        assert.match(logs, /^uid=1000\(user\) gid=1000\(user\)/m);
        assert.match(logs, /^Uid:\t1000\t1000\t1000\t1000$/m);
        assert.match(logs, /^Gid:\t1000\t1000\t1000\t1000$/m);
        assert.match(fs.readFileSync(`/proc/${pid}/status`, 'utf8'), /^Uid:\t1000\t1000\t1000\t1000$/m);
        assert.equal(c.stopAndRemove(1), 137);
        pod.remove();
        await assertIdle([pod]);
      });

      it('resources from the container config in its cgroup, and crictl update', { timeout: TEST_TIMEOUT }, async (t) => {
        const pod = new Pod(t, h, 'res', { network: NODE });
        pod.run();
        const show = [
          'echo "$1 mem $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"',
          'echo "$1 shares $(cat /sys/fs/cgroup/cpu/cpu.shares)"',
          'echo "$1 quota $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)"',
          'echo "$1 period $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"',
        ].join('; ');
        // Prints the limits it sees, waits for /tmp/go (written from the host), prints again.
        const script = `show() { ${show}; }; show before; while [ ! -e /tmp/go ]; do sleep 0.1; done; show after; exec sleep 1000`;
        const c = pod.container('main', script, {
          resources: { memory_limit_in_bytes: 256 * 1024 * 1024, cpu_shares: 512, cpu_quota: 50_000, cpu_period: 100_000 },
        });
        const pid = c.pid();
        const before = await c.waitLog('before period');
        assert.match(before, /^before mem 268435456$/m);
        assert.match(before, /^before shares 512$/m);
        assert.match(before, /^before quota 50000$/m);
        assert.match(before, /^before period 100000$/m);
        const host = (ctl: string, f: string) => fs.readFileSync(path.join(hostCgroupDir(ctl, c.cgroup), f), 'utf8').trim();
        assert.equal(host('memory', 'memory.limit_in_bytes'), '268435456');
        assert.equal(host('cpu', 'cpu.shares'), '512');

        crictlOk(['update', '--memory', String(128 * 1024 * 1024), '--cpu-share', '256', '--cpu-quota', '20000', '--cpu-period', '100000', c.id]);
        assert.equal(host('memory', 'memory.limit_in_bytes'), '134217728');
        assert.equal(host('cpu', 'cpu.shares'), '256');
        assert.equal(host('cpu', 'cpu.cfs_quota_us'), '20000');
        fs.writeFileSync(`/proc/${pid}/root/tmp/go`, '');
        const afterLogs = await c.waitLog('after period');
        assert.match(afterLogs, /^after mem 134217728$/m);
        assert.match(afterLogs, /^after shares 256$/m);
        assert.match(afterLogs, /^after quota 20000$/m);
        assert.equal(c.stopAndRemove(1), 137);
        pod.remove();
        await assertIdle([pod]);
      });

      it('crictl exec in a pod\'s container', { timeout: TEST_TIMEOUT, skip: skipUnlessCommand(h.bin, 'exec') }, async (t) => {
        const pod = new Pod(t, h, 'exec', { network: NODE });
        pod.run();
        const c = pod.container('main', 'echo ready; exec sleep 1000');
        await c.waitLog('ready');
        const r = crictl(['exec', c.id, 'sh', '-c', 'echo "exec $(cat /proc/1/cmdline | tr "\\0" " ")"; id -u; exit 3']);
        // crictl exits 1 and names the exit status.
        assert.equal(r.status, 1, describeCall(r));
        assert.match(r.stderr, /command terminated with exit code 3/);
        assert.match(r.stdout, /^exec sleep 1000 $/m);
        assert.match(r.stdout, /^0$/m);
        const s = crictl(['exec', '--sync', '--timeout', '10', c.id, 'cat', '/proc/self/status']);
        assert.equal(s.status, 0, describeCall(s));
        assert.match(s.stdout, /^Uid:\t0\t0\t0\t0$/m);
        // -it: containerd's CRI streams a terminal exec (the shim's console socket) to crictl,
        // which wants a terminal of its own (script).
        const tty = inTerminal([CRICTL, '--config', crictlConfig, 'exec', '-it', c.id, 'sh', '-c', 'tty; [ -t 0 ] && [ -t 1 ] && echo both-ttys']);
        assert.equal(tty.status, 0, describeCall(tty));
        assert.match(tty.stdout, /\/dev\/pts\/\d+\r+\n/);
        assert.match(tty.stdout, /both-ttys\r+\n/);
        assert.equal(c.stopAndRemove(1), 137);
        pod.remove();
        await assertIdle([pod]);
      });
    });
  }
});
