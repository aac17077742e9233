#!/usr/bin/env bash
# test/engines/docker.sh — installs Debian's docker.io (Docker 20.10, with its containerd, runc
# and tini as docker-init) for test/integration/docker.test.ts. Run as root on Debian 12 (from
# test/setup.sh). Idempotent: does nothing when docker.io is already installed.
#
# The test starts its own private dockerd (own data root, exec root, socket, cgroup parent), so
# the packages must not start the system services: policy-rc.d exiting 101 makes invoke-rc.d /
# deb-systemd-invoke skip every start during the install (policy-rc.d(8)). Other helpers install
# packages at the same time, hence the dpkg lock timeout instead of failing on a busy lock.
set -euo pipefail

if dpkg-query -W -f='${Status}' docker.io 2>/dev/null | grep -q '^install ok installed$' && [[ -x /usr/bin/docker && -x /usr/sbin/dockerd ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "docker.sh: must run as root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -o DPkg::Lock::Timeout=600 -o APT::Get::Update::Lock::Timeout=600)

# Daemons that already run (e.g. another helper's private containerd) are not ours to stop.
daemon_pids() {
  local p exe
  for p in /proc/[0-9]*; do
    exe=$(readlink "$p/exe" 2>/dev/null) || continue
    case $exe in
      /usr/bin/containerd | /usr/sbin/dockerd | /usr/bin/dockerd) echo "${p#/proc/}" ;;
    esac
  done
}
before=" $(daemon_pids | tr '\n' ' ') "

created_policy=
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\n# test/engines/docker.sh: no service starts during the install\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() {
  if [[ -n $created_policy ]]; then rm -f /usr/sbin/policy-rc.d; fi
}
trap cleanup EXIT

# An update only when the lists have never been fetched or do not know docker.io.
if ! apt-cache show docker.io >/dev/null 2>&1; then
  "${APT[@]}" update -qq
fi
# No recommends: apparmor, needrestart, git and cgroupfs-mount are not needed to run a daemon
# privately, and needrestart would try to restart services.
"${APT[@]}" install -y -qq --no-install-recommends docker.io >/dev/null

# Belt and braces: if a system dockerd or containerd started anyway (a policy-rc.d that someone
# else removed mid-install, a service manager that ignores it), stop it. Only daemons that were
# not running before the install and carry no private socket/config/root option are stopped:
# a helper's private containerd started meanwhile is left alone.
for pid in $(daemon_pids); do
  [[ $before == *" $pid "* ]] && continue
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
  case " $cmd" in
    *" --address"* | *" -a "* | *" --config"* | *" -c "* | *" --root"* | *" --data-root"* | *" --exec-root"* | *" -H unix:"* | *" --host=unix:"* | *" -H=unix:"*) continue ;;
  esac
  echo "docker.sh: stopping system daemon started by the install: $pid $cmd" >&2
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
done

/usr/bin/docker --version >/dev/null
