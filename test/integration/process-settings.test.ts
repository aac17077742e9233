// process.scheduler, process.ioPriority and linux.personality, read back from inside the
// container. (Debian's runc 1.1.5 predates them: no comparison.)

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { spawnSync } from 'node:child_process';
import { SKIP_REASON, TEST_TIMEOUT_MS, assertBinary, lines, run, runScript, setup, shell } from './helpers.ts';

const opts = { timeout: TEST_TIMEOUT_MS };

describe('process settings: scheduler, I/O priority, personality', { skip: SKIP_REASON }, () => {
  before(() => assertBinary());

  it('are what the process runs with', opts, (t) => {
    const out = runScript(t, 'uname -m; grep ^policy /proc/self/sched | tr -s " "; cut -d" " -f19 /proc/self/stat; ionice -p $$; cat /proc/self/personality', {
      mutate: (s) => {
        s.process.scheduler = { policy: 'SCHED_BATCH', nice: 5 };
        s.process.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 0 };
        s.linux = { ...s.linux, personality: { domain: 'LINUX32' } };
      },
    });
    // LINUX32: uname reports i686; SCHED_BATCH is policy 3; nice 5; the idle I/O class.
    assert.deepEqual(lines(out), ['i686', 'policy : 3', '5', 'idle', '00000008']);
  });

  it('a real-time I/O class is set while the init still has its capabilities', opts, (t) => {
    // (A real-time scheduler policy cannot be tried on this host: a cgroup v1 cpu controller
    // without an rt_runtime budget refuses real-time tasks.)
    const out = runScript(t, 'ionice -p $$; grep ^CapEff /proc/self/status', {
      mutate: (s) => void (s.process.ioPriority = { class: 'IOPRIO_CLASS_RT', priority: 3 }),
    });
    assert.equal(lines(out)[0], 'realtime: prio 3');
    // ...and the process itself does not have CAP_SYS_ADMIN (bit 21), which that takes.
    const eff = BigInt(`0x${lines(out)[1]!.split('\t')[1]}`);
    assert.equal((eff >> 21n) & 1n, 0n);
  });

  it('execCPUAffinity: the process runs on its final CPUs', { ...opts, skip: os.cpus().length < 2 && 'needs two CPUs' }, (t) => {
    const out = runScript(t, 'grep ^Cpus_allowed_list /proc/self/status', {
      mutate: (s) => void (s.process.execCPUAffinity = { initial: '0', final: '1' }),
    });
    assert.deepEqual(lines(out), ['Cpus_allowed_list:\t1']);
    const ctx = setup(t, { mutate: (s) => { shell('true')(s); s.process.execCPUAffinity = { final: '1-x' }; } });
    const r = run(ctx);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /process\.execCPUAffinity\.final: must be a CPU list like \\?"0-3,7\\?" \(got \\?"1-x\\?"\)/);
  });

  it('linux.memoryPolicy: the process\'s NUMA policy (numa_maps)', { ...opts, skip: !fs.existsSync('/proc/self/numa_maps') && 'no NUMA support in this kernel' }, (t) => {
    const out = runScript(t, 'head -1 /proc/self/numa_maps | cut -d" " -f2', {
      mutate: (s) => void (s.linux = { ...s.linux, memoryPolicy: { mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] } }),
    });
    assert.deepEqual(lines(out), ['bind=static:0']);
  });

  it('linux.netDevices: a host interface is moved into the container, renamed', opts, (t) => {
    const host = `rts${process.pid % 100000}a`;
    const peer = `rts${process.pid % 100000}b`;
    const made = spawnSync('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer], { encoding: 'utf8' });
    if (made.error || made.status !== 0) return t.skip(`cannot make a veth pair here: ${made.error ?? made.stderr}`);
    t.after(() => spawnSync('ip', ['link', 'del', peer]));
    const out = runScript(t, 'ip -o link show | cut -d: -f2 | cut -d@ -f1 | tr -d " "', {
      mutate: (s) => void (s.linux = { ...s.linux, netDevices: { [host]: { name: 'eth9' } } }),
    });
    assert.deepEqual(lines(out), ['lo', 'eth9']);
    // An interface the host does not have is refused before anything exists.
    const missing = setup(t, { mutate: (s) => { shell('true')(s); s.linux = { ...s.linux, netDevices: { nosuchif0: {} } }; } });
    const r = run(missing);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /linux\.netDevices\[\\?"nosuchif0\\?"\]: no such network interface on the host/);
  });

  it('linux.timeOffsets: the new time namespace\'s clocks are offset', { ...opts, skip: !fs.existsSync('/proc/self/timens_offsets') && 'no time namespaces in this kernel' }, (t) => {
    const out = runScript(t, 'cut -d" " -f1 /proc/uptime; cat /proc/self/timens_offsets', {
      mutate: (s) => {
        s.linux = { ...s.linux, namespaces: [...(s.linux?.namespaces ?? []), { type: 'time' }], timeOffsets: { boottime: { secs: 864000 }, monotonic: { secs: -5, nanosecs: 500 } } };
      },
    });
    const [uptime, ...offsets] = lines(out);
    const hostUptime = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    assert.ok(Math.abs(Number(uptime) - hostUptime - 864000) < 60, `${uptime} against the host's ${hostUptime}`);
    assert.deepEqual(offsets.map((l) => l.replace(/\s+/g, ' ')), ['monotonic -5 500', 'boottime 864000 0']);
  });

  it('what the kernel refuses fails the create, naming the step', opts, (t) => {
    const ctx = setup(t, {
      mutate: (s) => {
        shell('true')(s);
        // A deadline task needs runtime <= deadline <= period.
        s.process.scheduler = { policy: 'SCHED_DEADLINE', runtime: 10_000_000, deadline: 1_000_000, period: 1_000_000 };
      },
    });
    const r = run(ctx);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /sched_setattr `SCHED_DEADLINE`: EINVAL/);
  });
});
