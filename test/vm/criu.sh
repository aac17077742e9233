# criu.sh — checkpoint and restore with CRIU, in the guest of ../shared/cgroupv2-vm, where
# Debian's CRIU 3.17.1 works (Debian kernel 6.1; on the hosts' 6.18 kernel it cannot start).
# Sourced by cgroupv2.sh before it finishes: its helpers (rt, rc, bundle, eq, check, ...),
# its work directory $W and its pass/fail counts.
#
# A busybox container counts on its stdout (pipes, as engines give; or a terminal through a
# console socket): checkpoint stops it and deletes it, restore into a new id from the same
# bundle runs it on from the next number, in the container's cgroup with its limits;
# --leave-running, --pre-dump + --parent-path, a foreground restore, a failed restore; then
# the same flow with runc, and runc's images compared with runts'. Then podman's
# `container checkpoint` / `container restore` with --runtime runts.
#
#   RECVTTY  test/fixtures/recvtty.c built static (run-vm-tests.sh builds it under build/vm)

echo "# checkpoint/restore with CRIU $(criu --version 2>/dev/null | sed -n 's/^Version: //p')"
RECVTTY=${RECVTTY:-$REPO/build/vm/recvtty}
COUNTER='["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i; sleep 0.3; done"]'

# with_pipes OUT CMD...: CMD with stdin a pipe from a sleeping process and stdout and stderr
# one pipe into `cat >> OUT` (a detached container keeps them; restore hands on new ones).
with_pipes() { local out=$1; shift; "$@" < <(exec sleep 100000) > >(exec cat >> "$out") 2>&1; }
# wait_lines FILE N: until FILE has N lines (30 s at most)
wait_lines() { local i; for i in $(seq 150); do [ "$(wc -l < "$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0; sleep 0.2; done; return 1; }
# first/last FILE: its first/last line, without a terminal's \r
first() { head -n 1 "$1" | tr -d '\r'; }
last() { tail -n 1 "$1" | tr -d '\r'; }
# gone RUNTIME_FN ID: the runtime has no such container
gone() { ! "$1" state "$2" >/dev/null 2>&1; }
# log_tail FILE: CRIU's log, for a failure's diagnosis
log_tail() { [ -f "$1" ] && tail -n 15 "$1" | sed 's/^/#   /'; }
# wait_listen PORT: until a TCP socket listens on PORT (30 s at most)
wait_listen() { local hex i; hex=$(printf ':%04X ' "$1"); for i in $(seq 150); do grep -q "$hex.* 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null && return 0; sleep 0.2; done; return 1; }
# wait_file FILE: until it exists (30 s at most)
wait_file() { local i; for i in $(seq 150); do [ -e "$1" ] && return 0; sleep 0.2; done; return 1; }

if ! command -v criu >/dev/null; then
  bad "criu: not installed in the guest (run-vm-tests.sh adds it with EXTRA_PKGS)"
  return 0
fi

crb=$(bundle criu "$COUNTER" '{"pids": {"limit": 50}, "memory": {"limit": 67108864}}')

# ---- checkpoint: the container is stopped and deleted, its images hold what restore needs
with_pipes "$W/cr1.out" rt run -d -b "$crb" cr1
eq "criu: run -d the counter" "$?" 0
wait_lines "$W/cr1.out" 3
cg1=$(cgdir "$(pid_of rt cr1)")
rt checkpoint --image-path "$W/img1" --work-path "$W/work1" cr1
r=$?; eq "checkpoint" "$r" 0; [ "$r" = 0 ] || log_tail "$W/work1/dump.log"
check "checkpoint: the container is deleted" gone rt cr1
check "checkpoint: its cgroup is removed" test ! -e "$cg1"
n1=$(last "$W/cr1.out"); sleep 1
eq "checkpoint: the counter has stopped" "$(last "$W/cr1.out")" "$n1"
check "checkpoint: the images (inventory.img, descriptors.json)" test -f "$W/img1/inventory.img" -a -f "$W/img1/descriptors.json"

# ---- restore -d into a new id: the counter goes on, in the new container's cgroup
with_pipes "$W/cr2.out" rt restore -d --image-path "$W/img1" --work-path "$W/work2" -b "$crb" cr2
r=$?; eq "restore -d" "$r" 0; [ "$r" = 0 ] || log_tail "$W/work2/restore.log"
eq "restore: the container runs" "$(status_of rt cr2)" running
wait_lines "$W/cr2.out" 2
eq "restore: the counter goes on from where it was" "$(first "$W/cr2.out")" "$((n1 + 1))"
p2=$(pid_of rt cr2)
cg2=$(cgdir "$p2")
eq "restore: in the new container's cgroup" "$(basename "$cg2")" cr2
eq "restore: pids.max kept" "$(val "$cg2/pids.max")" 50
eq "restore: memory.max kept" "$(val "$cg2/memory.max")" 67108864
eq "restore: exec into the restored container" "$(rt exec cr2 sh -c 'echo $$ in $(hostname)' 2>&1 | sed 's/^[0-9]* //')" "in vm"

# ---- --leave-running: the dump is taken and the container counts on
rt checkpoint --leave-running --image-path "$W/img2" cr2
eq "checkpoint --leave-running" "$?" 0
eq "checkpoint --leave-running: still running" "$(status_of rt cr2)" running
n=$(wc -l < "$W/cr2.out"); sleep 1.5
check "checkpoint --leave-running: still counting" test "$(wc -l < "$W/cr2.out")" -gt "$n"

# ---- --pre-dump, then a dump on top of it (--parent-path)
rt checkpoint --pre-dump --image-path "$W/pre" cr2
r=$?; eq "checkpoint --pre-dump" "$r" 0; [ "$r" = 0 ] || log_tail "$W/pre/dump.log"
eq "checkpoint --pre-dump: still running" "$(status_of rt cr2)" running
rt checkpoint --image-path "$W/img3" --parent-path ../pre cr2
r=$?; eq "checkpoint --parent-path ../pre" "$r" 0; [ "$r" = 0 ] || log_tail "$W/img3/dump.log"
check "checkpoint --parent-path: the images link their parent" test -L "$W/img3/parent"
check "checkpoint --parent-path: the container is deleted" gone rt cr2
n3=$(last "$W/cr2.out")
with_pipes "$W/cr3.out" rt restore -d --pid-file "$W/cr3.pid" --image-path "$W/img3" -b "$crb" cr3
r=$?; eq "restore of a dump on a pre-dump" "$r" 0; [ "$r" = 0 ] || log_tail "$W/img3/restore.log"
eq "restore --pid-file: the restored init" "$(cat "$W/cr3.pid" 2>/dev/null)" "$(pid_of rt cr3)"
wait_lines "$W/cr3.out" 1
eq "restore of a dump on a pre-dump: the counter goes on" "$(first "$W/cr3.out")" "$((n3 + 1))"

# ---- the CRIU options runc passes through, on both ends
FLAGS=(--file-locks --tcp-established --ext-unix-sk --auto-dedup --manage-cgroups-mode full --empty-ns network)
rt checkpoint "${FLAGS[@]}" --image-path "$W/img4" cr3
r=$?; eq "checkpoint ${FLAGS[*]}" "$r" 0; [ "$r" = 0 ] || log_tail "$W/img4/dump.log"
n4=$(last "$W/cr3.out")
with_pipes "$W/cr6.out" rt restore "${FLAGS[@]}" -d --image-path "$W/img4" -b "$crb" cr6
r=$?; eq "restore ${FLAGS[*]}" "$r" 0; [ "$r" = 0 ] || log_tail "$W/img4/restore.log"
wait_lines "$W/cr6.out" 1
eq "restore ${FLAGS[*]}: the counter goes on" "$(first "$W/cr6.out")" "$((n4 + 1))"
check "restore --manage-cgroups-mode full: CRIU restored in its full mode (0x8)" grep -q "cgroups restore mode 0x8" "$W/img4/restore.log"
eq "restore --manage-cgroups-mode full: pids.max as the container's" "$(val "$(cgdir "$(pid_of rt cr6)")/pids.max")" 50
rt delete -f cr6

# ---- a foreground restore: runts waits, exits with the status, deletes the container
(with_pipes "$W/cr4.out" rt restore --image-path "$W/img2" --work-path "$W/work4" -b "$crb" cr4; echo $? > "$W/cr4.rc") &
wait_lines "$W/cr4.out" 2
eq "foreground restore: running" "$(status_of rt cr4)" running
rt kill cr4 KILL
wait_file "$W/cr4.rc"
eq "foreground restore: exit status 128+9" "$(cat "$W/cr4.rc" 2>/dev/null)" 137
[ "$(cat "$W/cr4.rc" 2>/dev/null)" = 137 ] || log_tail "$W/work4/restore.log"
check "foreground restore: deleted after the exit" gone rt cr4

# ---- --page-server: the memory pages go to a CRIU page server, the rest to --image-path
with_pipes "$W/ps1.out" rt run -d -b "$crb" crp1
wait_lines "$W/ps1.out" 2
mkdir -p "$W/ps-pages"
timeout 120 criu page-server --images-dir "$W/ps-pages" --port 27277 > "$W/ps-server.log" 2>&1 &
ps_pid=$!; wait_listen 27277
rt checkpoint --page-server 127.0.0.1:27277 --image-path "$W/ps-img" crp1
r=$?; eq "checkpoint --page-server" "$r" 0; [ "$r" = 0 ] || { log_tail "$W/ps-img/dump.log"; sed 's/^/#   /' "$W/ps-server.log"; }
wait "$ps_pid" 2>/dev/null
check "checkpoint --page-server: the pages are the server's, not in --image-path" test -n "$(ls "$W/ps-pages" | grep '^pages-')" -a -z "$(ls "$W/ps-img" | grep '^pages-')"
np=$(last "$W/ps1.out")
cp -n "$W"/ps-pages/* "$W/ps-img/"
with_pipes "$W/ps2.out" rt restore -d --image-path "$W/ps-img" -b "$crb" crp2
r=$?; eq "restore of a page-server dump" "$r" 0; [ "$r" = 0 ] || log_tail "$W/ps-img/restore.log"
wait_lines "$W/ps2.out" 1
eq "restore of a page-server dump: the counter goes on" "$(first "$W/ps2.out")" "$((np + 1))"
rt delete -f crp2

# ---- --lazy-pages: the dump serves its pages (--status-fd says when), the restore takes them
# through CRIU's lazy-pages daemon (userfaultfd) as they are touched (runc's bats test)
if criu check --feature uffd-noncoop >/dev/null 2>&1; then
  with_pipes "$W/lz1.out" rt run -d -b "$crb" crl1
  wait_lines "$W/lz1.out" 2
  mkfifo "$W/lz.status"
  (timeout 120 "$RUNTS" --root "$W/state-runts" checkpoint --lazy-pages --page-server 127.0.0.1:27278 --status-fd 9 --work-path "$W/lz-work" --image-path "$W/lz-img" crl1 9> "$W/lz.status"; echo $? > "$W/lz.rc") &
  ready=$(timeout 60 dd if="$W/lz.status" bs=1 count=1 2>/dev/null | od -An -tx1 | tr -d ' ')
  eq "checkpoint --lazy-pages: --status-fd gets \\0 when the pages are served" "$ready" 00
  nl=$(last "$W/lz1.out")
  timeout 120 criu lazy-pages --page-server --address 127.0.0.1 --port 27278 -D "$W/lz-img" > "$W/lz-daemon.log" 2>&1 &
  sleep 2
  with_pipes "$W/lz2.out" timeout 120 "$RUNTS" --root "$W/state-runts" restore -d --lazy-pages --work-path "$W/lz-img" --image-path "$W/lz-img" -b "$crb" crl2
  r=$?; eq "restore --lazy-pages" "$r" 0; [ "$r" = 0 ] || { log_tail "$W/lz-img/restore.log"; sed 's/^/#   /' "$W/lz-daemon.log" | tail -5; }
  wait_lines "$W/lz2.out" 1
  eq "restore --lazy-pages: the counter goes on" "$(first "$W/lz2.out")" "$((nl + 1))"
  wait_file "$W/lz.rc"; eq "checkpoint --lazy-pages: done once the restore has the pages" "$(cat "$W/lz.rc" 2>/dev/null)" 0
  rt delete -f crl2
else
  echo "# skipped --lazy-pages: criu check --feature uffd-noncoop fails in this guest ($(criu check --feature uffd-noncoop 2>&1 | tail -n 1))"
fi

# ---- a network namespace joined by path stays external: the restored container is in it
touch /run/runts-cr-netns && unshare --net=/run/runts-cr-netns true
nsb=$(bundle criu-netns "$COUNTER" '{}')
sed -i 's#{"type": "network"}#{"type": "network", "path": "/run/runts-cr-netns"}#' "$nsb/config.json"
netns=$(stat -L -c %i /run/runts-cr-netns)
with_pipes "$W/ns1.out" rt run -d -b "$nsb" crn1
wait_lines "$W/ns1.out" 2
rt checkpoint --image-path "$W/imgn" crn1
r=$?; eq "netns by path: checkpoint" "$r" 0; [ "$r" = 0 ] || log_tail "$W/imgn/dump.log"
with_pipes "$W/ns2.out" rt restore -d --image-path "$W/imgn" -b "$nsb" crn2
r=$?; eq "netns by path: restore" "$r" 0; [ "$r" = 0 ] || log_tail "$W/imgn/restore.log"
eq "netns by path: the restored init is in that namespace" "$(stat -L -c %i "/proc/$(pid_of rt crn2)/ns/net" 2>&1)" "$netns"
rt delete -f crn2
umount /run/runts-cr-netns; rm -f /run/runts-cr-netns

# ---- a restore that fails leaves nothing behind
mkdir -p "$W/empty"; cp "$W/img1/descriptors.json" "$W/empty/"
out=$(rt restore -d --image-path "$W/empty" -b "$crb" cr5 </dev/null 2>&1)
eq "restore from a directory without images fails" "$?" 1
echo "$out" | sed 's/^/# /'
check "failed restore: the error names CRIU's log" grep -q "restore.log" <<< "$out"
check "failed restore: no state" gone rt cr5
eq "failed restore: no cgroup" "$(find /sys/fs/cgroup -name cr5 | wc -l)" 0
eq "failed restore: nothing restored" "$(pgrep -c -f 'sleep 0.3' 2>/dev/null || true)" 0

# ---- a terminal container: the restored pty's master goes to the console socket
if [ -x "$RECVTTY" ]; then
  ttyb=$(bundle criu-tty "$COUNTER" '{}')
  sed -i 's/"terminal": false/"terminal": true/' "$ttyb/config.json"
  "$RECVTTY" "$W/tty1.sock" "$W/tty1.out" & wait_file "$W/tty1.sock"
  rt run -d --console-socket "$W/tty1.sock" -b "$ttyb" crt1 </dev/null >/dev/null 2>&1
  eq "terminal: run -d --console-socket" "$?" 0
  wait_lines "$W/tty1.out" 3
  rt checkpoint --image-path "$W/imgt" crt1
  r=$?; eq "terminal: checkpoint" "$r" 0; [ "$r" = 0 ] || log_tail "$W/imgt/dump.log"
  nt=$(last "$W/tty1.out")
  "$RECVTTY" "$W/tty2.sock" "$W/tty2.out" & wait_file "$W/tty2.sock"
  rt restore -d --console-socket "$W/tty2.sock" --image-path "$W/imgt" -b "$ttyb" crt2 </dev/null >/dev/null 2>&1
  r=$?; eq "terminal: restore -d --console-socket" "$r" 0; [ "$r" = 0 ] || log_tail "$W/imgt/restore.log"
  wait_lines "$W/tty2.out" 2
  ft=$(first "$W/tty2.out")
  # What the pty held unread at the dump may be lost: the next number, or one or two later.
  check "terminal: the counter goes on through the new pty ($nt, then $ft)" test "${ft:-0}" -gt "$nt" -a "${ft:-0}" -le "$((nt + 3))"
  rt delete -f crt2
  # A foreground restore without a console socket proxies the new pty to its stdout (a pipe
  # here: script(1) gives a foreground `run` no output in this guest either).
  (with_pipes "$W/tty3.out" rt restore --image-path "$W/imgt" -b "$ttyb" crt3; echo $? > "$W/tty3.rc") &
  wait_lines "$W/tty3.out" 2
  f3=$(first "$W/tty3.out")
  check "terminal: a foreground restore proxies the new pty ($nt, then $f3)" test "${f3:-0}" -gt "$nt" -a "${f3:-0}" -le "$((nt + 3))"
  rt kill crt3 KILL; wait_file "$W/tty3.rc"
  eq "terminal: the foreground restore exits 128+9" "$(cat "$W/tty3.rc" 2>/dev/null)" 137
else
  bad "terminal: no recvtty at $RECVTTY (run-vm-tests.sh builds it)"
fi

# ---- runc on the same bundle: the same flow, and its images described alike
if [ "$IS_RUNC" = 0 ]; then
  with_pipes "$W/rc1.out" rc run -d -b "$crb" rc1
  wait_lines "$W/rc1.out" 3
  rc checkpoint --image-path "$W/rimg" rc1
  eq "runc: checkpoint of the same bundle" "$?" 0
  m1=$(last "$W/rc1.out")
  with_pipes "$W/rc2.out" rc restore -d --image-path "$W/rimg" -b "$crb" rc2
  eq "runc: restore" "$?" 0
  wait_lines "$W/rc2.out" 1
  eq "runc: the counter goes on, as with runts" "$(first "$W/rc2.out")" "$((m1 + 1))"
  echo "# runc: the restored container's cgroup $(cgdir "$(pid_of rc rc2)"), pids.max $(val "$(cgdir "$(pid_of rc rc2)")/pids.max")"
  shape() { sed 's/[0-9][0-9]*/N/g' "$1"; }
  eq "descriptors.json as runc's" "$(shape "$W/img1/descriptors.json")" "$(shape "$W/rimg/descriptors.json")"
  # The images of one process tree dumped alike: the same kinds of image files.
  kinds() { ls "$1" | grep '\.img$' | sed 's/-[0-9]*\.img$//; s/\.img$//' | sort -u | tr '\n' ' '; }
  eq "the image files are of the kinds runc's are" "$(kinds "$W/img1")" "$(kinds "$W/rimg")"
  rc delete -f rc2
fi
pkill -f 'sleep 100000' 2>/dev/null

# ---- the create hooks runc runs at restore (prestart, createRuntime: at CRIU's
# setup-namespaces, with the restored init's pid), and poststop when checkpoint destroys
hkb=$(bundle criu-hooks "$COUNTER" '{}')
hook() { printf '{"path": "/bin/sh", "args": ["sh", "-c", "cat > %s"]}' "$1"; }
sed -i "s#\"linux\": {#\"hooks\": {\"prestart\": [$(hook "$W/hk.prestart")], \"createRuntime\": [$(hook "$W/hk.createRuntime")], \"poststop\": [$(hook "$W/hk.poststop")]}, \"linux\": {#" "$hkb/config.json"
with_pipes "$W/hk1.out" rt run -d -b "$hkb" crh1
wait_lines "$W/hk1.out" 2
rm -f "$W"/hk.*
rt checkpoint --image-path "$W/imgh" crh1
eq "hooks: checkpoint" "$?" 0
check "hooks: poststop ran when checkpoint destroyed the container" grep -q '"id":"crh1","status":"stopped"' "$W/hk.poststop"
with_pipes "$W/hk2.out" rt restore -d --image-path "$W/imgh" -b "$hkb" crh2
r=$?; eq "hooks: restore" "$r" 0; [ "$r" = 0 ] || log_tail "$W/imgh/restore.log"
ph=$(pid_of rt crh2)
for k in prestart createRuntime; do
  eq "hooks: $k ran at restore with the restored init's pid" "$(grep -o '"pid":[0-9]*' "$W/hk.$k" 2>/dev/null)" "\"pid\":$ph"
  check "hooks: $k's state says creating, id crh2" grep -q '"id":"crh2","status":"creating"' "$W/hk.$k"
done
rt delete -f crh2
pkill -f 'sleep 100000' 2>/dev/null

# ---- podman: container checkpoint / restore with --runtime runts (conmon runs the restore)
if command -v podman >/dev/null; then
  tar -C "$W/rootfs" -c . | podman import -q - localhost/runts-cr:latest >/dev/null
  # pm_flow NAME RUNTIME: run -d a counter, checkpoint, restore; "<name>: ..." checks
  pm_flow() {
    local name=$1 runtime=$2 pn
    pm() { podman --runtime "$runtime" "$@"; }
    pm run -d --name "cr-$name" --network none localhost/runts-cr:latest sh -c 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.3; done' >/dev/null
    eq "podman $name: run -d" "$?" 0
    for _ in $(seq 100); do [ "$(podman logs "cr-$name" 2>/dev/null | wc -l)" -ge 3 ] && break; sleep 0.2; done
    pm container checkpoint "cr-$name" > "$W/pm.out" 2>&1
    r=$?; eq "podman $name: container checkpoint" "$r" 0; [ "$r" = 0 ] || sed 's/^/#   /' "$W/pm.out"
    eq "podman $name: checkpointed, the container has exited" "$(podman inspect -f '{{.State.Status}}' "cr-$name" 2>&1)" exited
    pn=$(podman logs "cr-$name" 2>/dev/null | tail -n 1)
    pm container restore "cr-$name" > "$W/pm.out" 2>&1
    r=$?; eq "podman $name: container restore" "$r" 0; [ "$r" = 0 ] || sed 's/^/#   /' "$W/pm.out"
    eq "podman $name: restored, running" "$(podman inspect -f '{{.State.Status}}' "cr-$name" 2>&1)" running
    for _ in $(seq 100); do [ "$(podman logs "cr-$name" 2>/dev/null | tail -n 1)" -gt "$((pn + 1))" ] 2>/dev/null && break; sleep 0.2; done
    eq "podman $name: the counter goes on after restore" "$(podman logs "cr-$name" 2>/dev/null | grep -A1 -x "$pn" | sed -n 2p)" "$((pn + 1))"
    eq "podman $name: exec into the restored container" "$(pm exec "cr-$name" cat /proc/1/cgroup 2>&1)" "0::/"
    pm rm -f "cr-$name" >/dev/null 2>&1
  }
  # As runc does it under podman, then runts (podman's --runtime: conmon runs the restore).
  [ "$IS_RUNC" = 0 ] && pm_flow runc "$RUNC"
  pm_flow runts "$RUNTS"
  podman rmi -f localhost/runts-cr:latest >/dev/null 2>&1
else
  bad "podman: not installed in the guest (run-vm-tests.sh adds it with EXTRA_PKGS)"
fi
