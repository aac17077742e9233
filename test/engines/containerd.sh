#!/usr/bin/env bash
# test/engines/containerd.sh — installs what test/integration/containerd.test.ts and cri.test.ts
# need, as root on Debian 12 (called from test/setup.sh). Idempotent and quick when done:
#
#   - Debian's containerd (1.6, with ctr and containerd-shim-runc-v2) and
#     containernetworking-plugins (the CNI bridge, loopback and host-local plugins in
#     /usr/lib/cni), WITHOUT starting containerd.service: the tests start their own private
#     daemon (own root, state, socket, config, cgroup parent);
#   - crictl (sigs.k8s.io/cri-tools), built once per machine from the Go module proxy into
#     $RUNTS_TEST_CACHE (default /var/cache/runts-test), outside the checkout;
#   - the static `pause` binary of the CRI sandbox image (test/engines/oci-image.sh pause),
#     cached the same way (gcc -static; libc6-dev is installed for it if missing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

CRICTL_VERSION=v1.34.0
CACHE=${RUNTS_TEST_CACHE:-/var/cache/runts-test}
CRICTL=$CACHE/crictl-$CRICTL_VERSION/crictl

if [[ $(id -u) -ne 0 ]]; then
  echo "containerd.sh: must run as root" >&2
  exit 1
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

# --- Debian packages ------------------------------------------------------------------------
need=()
installed containerd && [[ -x /usr/bin/containerd && -x /usr/bin/ctr && -x /usr/bin/containerd-shim-runc-v2 ]] || need+=(containerd)
installed containernetworking-plugins && [[ -x /usr/lib/cni/bridge ]] || need+=(containernetworking-plugins)
# The static pause binary needs gcc and libc.a; the CRI test reads the pod's bridge with ip(8).
command -v gcc >/dev/null || need+=(gcc)
installed libc6-dev || need+=(libc6-dev)
command -v ip >/dev/null || need+=(iproute2)
if ((${#need[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  APT=(apt-get -o DPkg::Lock::Timeout=600 -o APT::Get::Update::Lock::Timeout=600)
  # policy-rc.d exiting 101 makes invoke-rc.d / deb-systemd-invoke skip every service start
  # during the install (policy-rc.d(8)). Another helper may have created it already (they
  # install in parallel): then it is theirs to remove.
  created_policy=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# test/engines/containerd.sh: no service starts during the install\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  trap '[[ -z $created_policy ]] || rm -f /usr/sbin/policy-rc.d' EXIT
  # One update, and only when the lists do not know the packages yet.
  for p in "${need[@]}"; do
    if ! apt-cache show "$p" >/dev/null 2>&1; then
      "${APT[@]}" update -qq
      break
    fi
  done
  "${APT[@]}" install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  if [[ -n $created_policy ]]; then rm -f /usr/sbin/policy-rc.d; fi
  created_policy=
fi

# --- crictl ---------------------------------------------------------------------------------
if [[ ! -x $CRICTL ]]; then
  command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
  # go needs a HOME for its module and build caches (a CI step may run without one).
  export HOME=${HOME:-/root}
  command -v go >/dev/null || { echo "containerd.sh: go is needed to build crictl" >&2; exit 1; }
  mkdir -p "$(dirname "$CRICTL")"
  tmp=$(mktemp -d "$(dirname "$CRICTL")/build.XXXXXX")
  # -mod=mod: cri-tools vendors its dependencies; building from the module cache ignores that.
  # A private GOBIN, then a rename, so a half-written binary is never taken for a cached one.
  if ! GOBIN=$tmp GOFLAGS=-mod=mod CGO_ENABLED=0 go install "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"; then
    rm -rf "$tmp"
    echo "containerd.sh: building crictl $CRICTL_VERSION failed" >&2
    exit 1
  fi
  mv "$tmp/crictl" "$CRICTL"
  rm -rf "$tmp"
fi

# --- the pause binary (cached by oci-image.sh itself) ---------------------------------------
RUNTS_TEST_CACHE=$CACHE bash "$here/oci-image.sh" pause >/dev/null
