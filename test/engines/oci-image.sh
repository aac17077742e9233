#!/usr/bin/env bash
# test/engines/oci-image.sh — local OCI images for the engine tests (nothing can be pulled from
# a registry here): single-layer OCI image-layout archives that `ctr images import` takes.
#
#   oci-image.sh pause
#       builds (once, cached in $RUNTS_TEST_CACHE, default /var/cache/runts-test) a static
#       `pause` binary like Kubernetes' pause.c and prints its path
#   oci-image.sh busybox NAME OUT.tar [USER]
#       the busybox test rootfs (test/fixtures/make-bundle.sh), Cmd ["sh"]; USER (e.g.
#       1000:1000) becomes the image config's User, which engines run the process as
#   oci-image.sh pause-image NAME OUT.tar
#       a rootfs holding only /pause, Entrypoint ["/pause"]: the CRI sandbox image
#   oci-image.sh rootfs DIR NAME OUT.tar [ENTRYPOINT-JSON [CMD-JSON [USER]]]
#       any rootfs directory
#
# NAME is the full reference, e.g. docker.io/library/runts-busybox:123. It goes into the
# index's io.containerd.image.name annotation, which is the name `ctr images import` gives the
# image (and org.opencontainers.image.ref.name gets the tag, for other tools). The layer is an
# uncompressed tar with sorted names and zero mtimes, so the same rootfs gives the same digest.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CACHE=${RUNTS_TEST_CACHE:-/var/cache/runts-test}

# Temp dirs to remove on exit, whatever the exit.
tmpdirs=()
trap 'for d in "${tmpdirs[@]}"; do rm -rf "$d"; done' EXIT

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2
  exit 2
}

# The pause program: sleeps until SIGINT/SIGTERM, reaps whatever is reparented to it (it is pid 1
# of the pod's pid namespace when the pod shares one), like kubernetes/build/pause/linux/pause.c.
PAUSE_C='#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig) { _exit(0); }
static void reap(int sig) { while (waitpid(-1, NULL, WNOHANG) > 0) {} }

int main(int argc, char **argv) {
	struct sigaction q = {.sa_handler = quit}, r = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP};
	if (sigaction(SIGINT, &q, NULL) < 0 || sigaction(SIGTERM, &q, NULL) < 0 ||
	    sigaction(SIGCHLD, &r, NULL) < 0) {
		perror("pause: sigaction");
		return 1;
	}
	for (;;) pause();
}
'

pause_binary() {
  local sum dir out tmp
  sum=$(printf '%s' "$PAUSE_C" | sha256sum | cut -c1-16)
  dir=$CACHE/pause-$sum
  out=$dir/pause
  if [[ ! -x $out ]]; then
    mkdir -p "$dir"
    tmp=$(mktemp "$dir/pause.XXXXXX")
    printf '%s' "$PAUSE_C" | ${CC:-gcc} -static -O2 -Wall -x c -o "$tmp" - || {
      rm -f "$tmp"
      echo "oci-image.sh: gcc -static failed (needs gcc and libc6-dev)" >&2
      exit 1
    }
    chmod 755 "$tmp"
    mv "$tmp" "$out"
  fi
  echo "$out"
}

arch() {
  case $(uname -m) in
    x86_64) echo amd64 ;;
    aarch64) echo arm64 ;;
    *) uname -m ;;
  esac
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# blob FILE LAYOUT: moves FILE into LAYOUT/blobs/sha256/<digest>, prints the digest.
blob() {
  local d
  d=$(sha "$1")
  mv "$1" "$2/blobs/sha256/$d"
  echo "$d"
}

# image_from_rootfs DIR NAME OUT ENTRYPOINT-JSON CMD-JSON [USER]
image_from_rootfs() {
  local rootfs=$1 name=$2 out=$3 entrypoint=$4 cmd=$5 user=${6:-}
  local work layout layer_d layer_s cfg_d cfg_s man_d man_s tag a
  [[ -d $rootfs ]] || { echo "oci-image.sh: $rootfs is not a directory" >&2; exit 1; }
  tag=${name##*:}
  [[ $tag != "$name" && $tag != */* ]] || tag=latest
  a=$(arch)
  work=$(mktemp -d)
  tmpdirs+=("$work")
  layout=$work/layout
  mkdir -p "$layout/blobs/sha256"

  tar --sort=name --mtime=@0 --numeric-owner --format=posix --pax-option=delete=atime,delete=ctime \
    -C "$rootfs" -cf "$work/layer.tar" .
  layer_s=$(size "$work/layer.tar")
  layer_d=$(blob "$work/layer.tar" "$layout") # uncompressed: the digest is the diff_id too

  printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"User":"%s","Entrypoint":%s,"Cmd":%s,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"test/engines/oci-image.sh"}]}' \
    "$a" "$user" "$entrypoint" "$cmd" "$layer_d" >"$work/config.json"
  cfg_s=$(size "$work/config.json")
  cfg_d=$(blob "$work/config.json" "$layout")

  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cfg_d" "$cfg_s" "$layer_d" "$layer_s" >"$work/manifest.json"
  man_s=$(size "$work/manifest.json")
  man_d=$(blob "$work/manifest.json" "$layout")

  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$man_d" "$man_s" "$a" "$name" "$tag" >"$layout/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"

  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$layout" -cf "$out.tmp" oci-layout index.json blobs
  mv "$out.tmp" "$out"
}

cmd=${1:-}
case $cmd in
  pause)
    [[ $# -eq 1 ]] || usage
    pause_binary
    ;;
  busybox)
    [[ $# -eq 3 || $# -eq 4 ]] || usage
    work=$(mktemp -d)
    tmpdirs+=("$work")
    bash "$here/../fixtures/make-bundle.sh" "$work/b" 2>/dev/null
    image_from_rootfs "$work/b/rootfs" "$2" "$3" null '["sh"]' "${4:-}"
    ;;
  pause-image)
    [[ $# -eq 3 ]] || usage
    bin=$(pause_binary)
    work=$(mktemp -d)
    tmpdirs+=("$work")
    mkdir -p "$work/rootfs"
    cp "$bin" "$work/rootfs/pause"
    image_from_rootfs "$work/rootfs" "$2" "$3" '["/pause"]' null
    ;;
  rootfs)
    [[ $# -ge 4 && $# -le 7 ]] || usage
    image_from_rootfs "$2" "$3" "$4" "${5:-null}" "${6:-null}" "${7:-}"
    ;;
  *) usage ;;
esac
