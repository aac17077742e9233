import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configFile, criuCommon, emptyNsMask, imagesDir, pageServer } from '../../src/runtime/criu.ts';
import { resolve } from '../../src/runtime/options.ts';
import { usageMessage } from '../../src/cli/sink.ts';

test('criu: --page-server splits as Go net.SplitHostPort, with runc\'s errors', () => {
  assert.deepEqual(pageServer('10.0.0.1:27'), { address: '10.0.0.1', port: 27 });
  assert.deepEqual(pageServer('host.example:8080'), { address: 'host.example', port: 8080 });
  assert.deepEqual(pageServer('[::1]:9000'), { address: '::1', port: 9000 });
  for (const bad of ['foo', ':5', 'foo:', '::1:9000', '[::1]', 'a:b:c']) {
    assert.throws(() => pageServer(bad), /^RuntsError: Use --page-server ADDRESS:PORT to specify page server$/, bad);
  }
  for (const bad of ['foo:bar', '[::1]:x', 'h:1.5']) assert.throws(() => pageServer(bad), /Invalid port number/, bad);
});

test('criu: --empty-ns takes network only, and the network namespace is always left empty (runc)', () => {
  const NEWNET = 0x40000000;
  assert.equal(emptyNsMask(), NEWNET);
  assert.equal(emptyNsMask(['network', 'network']), NEWNET);
  assert.throws(() => emptyNsMask(['network', 'ipc']), /namespace "ipc" is not supported/);
});

test('criu: the configuration file: org.criu.config, empty for none, else the runtime\'s', () => {
  assert.equal(configFile(undefined), '/etc/criu/runts.conf');
  assert.equal(configFile({ other: 'x' }), '/etc/criu/runts.conf');
  assert.equal(configFile({ 'org.criu.config': '/my/criu.conf' }), '/my/criu.conf');
  assert.equal(configFile({ 'org.criu.config': '' }), undefined);
});

test('criu: the shared options, resolved', () => {
  const g = resolve({ criu: '/opt/criu' });
  const o = criuCommon(g, { imagePath: 'imgs', workPath: '/w', manageCgroupsMode: 'full', shellJob: true });
  assert.equal(o.criu, '/opt/criu');
  assert.equal(o.imagesDir, `${process.cwd()}/imgs`);
  assert.equal(o.workDir, '/w');
  assert.equal(o.manageCgroupsMode, 'full');
  assert.equal(o.shellJob, true);
  assert.equal(o.tcpEstablished, false);
  assert.equal(criuCommon(resolve(), {}).criu, 'criu');
  assert.equal(criuCommon(resolve(), { manageCgroupsMode: '' }).manageCgroupsMode, undefined);
  assert.equal(imagesDir(undefined), `${process.cwd()}/checkpoint`);
  assert.throws(() => criuCommon(g, { manageCgroupsMode: 'bogus' }), /^RuntsError: Invalid manage-cgroups-mode value$/);
});

test('usage errors: a missing flag value in runc\'s words (podman probes restore --lsm-mount-context)', () => {
  assert.equal(usageMessage("error: option '--lsm-mount-context <context>' argument missing\n"), 'error: flag needs an argument: -lsm-mount-context\n');
  assert.equal(usageMessage("error: option '-b, --bundle <path>' argument missing"), 'error: flag needs an argument: -bundle');
  assert.equal(usageMessage("option '--root <path>' argument missing"), 'flag needs an argument: -root');
  assert.equal(usageMessage("error: unknown option '--x'"), "error: unknown option '--x'");
});
