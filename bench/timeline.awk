# bench/timeline.awk — phases of `R run` from a `perf trace --no-syscalls -e
# task:task_newtask,sched:sched_process_exec,sched:sched_process_exit` log (bench/profile.sh).
#
#   awk -v rts=NAME=PATH,NAME=PATH,... -f bench/timeline.awk perf-trace.txt
#
# For each run (an exec of one of the PATHs) it takes four instants:
#   start  the exec of the runtime
#   fork   the first new *process* (clone without CLONE_THREAD) made by any thread of it
#   user   the exec of /bin/true (the container's process)
#   end    the exit of the runtime's last thread
# and prints, per runtime, the median of each phase in ms. Plain POSIX awk (Debian's mawk).
#
# Line shapes (comm may contain spaces and slashes; the tid is the number before the event):
#   6.585 runts/3842 task:task_newtask(pid: 3843 (runts), comm: "runts", clone_flags: 4001536)
#   1.016 runts/31989 sched:sched_process_exec(filename: "/work/main/dist/runts", pid: 31989 ...
#   25.683 runts/31989 sched:sched_process_exit(comm: "runts", pid: 31989 (runts), prio: 120)

function after(s, key, i) {
	i = index(s, key)
	return i ? substr(s, i + length(key)) : ""
}

function quoted(s) { return substr(s, 1, index(s, "\"") - 1) }

function close_run() {
	if (run && start[run] && fork_t[run] && user[run] && uexit[run] && end_t[run]) {
		r = name[run]
		k = ++count[r]
		ph[r, 1, k] = fork_t[run] - start[run]
		ph[r, 2, k] = user[run] - fork_t[run]
		ph[r, 3, k] = uexit[run] - user[run]
		ph[r, 4, k] = end_t[run] - uexit[run]
		ph[r, 5, k] = end_t[run] - start[run]
	}
}

function median(r, p, n, i, j, v, a) {
	for (i = 1; i <= n; i++) a[i] = ph[r, p, i]
	for (i = 2; i <= n; i++) {
		v = a[i]
		for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]
		a[j + 1] = v
	}
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

BEGIN {
	nrt = split(rts, pairs, ",")
	for (i = 1; i <= nrt; i++) {
		eq = index(pairs[i], "=")
		rtname[i] = substr(pairs[i], 1, eq - 1)
		bypath[substr(pairs[i], eq + 1)] = rtname[i]
	}
	CLONE_THREAD = 65536
}

{
	t = $1 + 0
	if (index($0, " task:task_newtask(")) ev = "new"
	else if (index($0, " sched:sched_process_exec(")) ev = "exec"
	else if (index($0, " sched:sched_process_exit(")) ev = "exit"
	else next
	head = substr($0, 1, index($0, ev == "new" ? " task:" : " sched:") - 1)
	n = split(head, parts, "/")
	tid = parts[n] + 0
	if (!(tid in tg)) tg[tid] = tid

	if (ev == "new") {
		child = after($0, "(pid: ") + 0
		flags = after($0, "clone_flags: ") + 0
		thread = int(flags / CLONE_THREAD) % 2
		tg[child] = thread ? tg[tid] : child
		if (!thread && run && tg[tid] == cur && !fork_t[run]) fork_t[run] = t
	} else if (ev == "exec") {
		file = quoted(after($0, "filename: \""))
		pid = after($0, "pid: ") + 0
		if (file in bypath) {
			close_run()
			run++
			name[run] = bypath[file]
			cur = pid
			tg[pid] = pid
			start[run] = t
			upid = 0
		} else if (file == "/bin/true" && run && !user[run]) {
			user[run] = t
			upid = pid
		}
	} else {
		pid = after($0, "pid: ") + 0
		if (run && pid == upid && !uexit[run]) uexit[run] = t
		if (run && tg[pid] == cur) end_t[run] = t
	}
}

END {
	close_run()
	printf "| phase of `run`, median ms |"
	for (i = 1; i <= nrt; i++) printf " %s |", rtname[i]
	printf "\n|---|"
	for (i = 1; i <= nrt; i++) printf "--:|"
	printf "\n"
	split("exec → first fork (CLI, config, runtime start-up);first fork → exec of /bin/true (container setup);/bin/true runs;/bin/true exits → runtime exits (reap, clean up, exit);total", label, ";")
	for (p = 1; p <= 5; p++) {
		printf "| %s |", label[p]
		for (i = 1; i <= nrt; i++) {
			r = rtname[i]
			if (count[r]) printf " %.2f |", median(r, p, count[r])
			else printf " – |"
		}
		printf "\n"
	}
	printf "| runs parsed |"
	for (i = 1; i <= nrt; i++) printf " %d |", count[rtname[i]]
	printf "\n"
}
