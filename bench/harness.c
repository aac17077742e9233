/*
 * harness — time OCI runtimes against each other on one bundle (see bench/run.sh, which builds
 * this file, the bundle and the private mount namespace, and docs/benchmarks.md for results).
 *
 *   harness -b BUNDLE -d WORKDIR -p ID_PREFIX [-n N] [-w WARMUP] [-g MS] [-o OPS] [-F PATH] NAME=PATH...
 *   harness -X -d WORKDIR [-n N] [-w WARMUP] [-g MS] 'LABEL=PATH ARG...' ...  (bench/profile.sh)
 *   harness -S COMMAND [ARG...]                                             (bench/lib.sh)
 *
 * With -X it times arbitrary commands instead (split on spaces, no quoting), interleaved the
 * same way, and prints one row per command with its difference from the first. With -S it
 * only runs COMMAND as a child subreaper and reaps every orphan until COMMAND and they are
 * gone: the bench scripts run beneath it, so the inits of the containers they create and
 * delete are never left as zombies of a PID 1 that does not reap.
 *
 * The first NAME is the runtime under test; the ratio columns divide its medians by each
 * other runtime's. For each of N iterations (after WARMUP unrecorded ones) and each
 * operation, every runtime is called once, in an order rotated by the iteration number, so
 * that drift (page cache, CPU frequency, a noisy neighbour) is spread over all of them:
 *
 *   run     `R --root ROOT run -b BUNDLE ID`        (the bundle runs /bin/true)
 *   cycle   `R create --pid-file F -b BUNDLE ID`, `R start ID`, wait for the init, `R delete ID`
 *   state   `R state ID` of a container created before the loop (status "created"), then
 *           `R kill ID CONT` of the same container (delivered, and harmless to the waiting init)
 *           and `R exec ID /bin/true` into it (foreground: returns once the process exited)
 *
 * -o OPS (e.g. "run" or "cycle,state") runs only those groups (bench/run.sh's rows with 2000
 * extra processes and with 1000 other containers). -g MS sleeps MS milliseconds, untimed,
 * before every call: isolated calls, as an engine makes them (bench/scale.sh's quiet row; in a
 * tight loop one call's kernel work, an RCU grace period above all, can serve the next).
 *
 * -F PATH times PATH (no arguments) once per iteration beside the runtimes: the Bun floor, a
 * compiled Bun binary that loads an empty napi module and exits (bench/lib.sh bench_bun_floor).
 * The targets line then gives, for each target, the floor of a runtime built on Bun: crun's
 * own time for the call with crun's least call (`kill`) replaced by PATH's time, i.e. what a
 * Bun runtime would take if everything it did beyond starting Bun and its addon were as fast
 * as crun. A target below that floor cannot be met by any runtime that starts Bun per call.
 *
 * Why C: each call is one posix_spawn (glibc's is a CLONE_VM|CLONE_VFORK clone + execve) and
 * one wait4, the same for every runtime and small (the "floor" line times the harness spawning
 * the host's /bin/true). wait4(2) also returns the child's rusage: ru_maxrss is the peak RSS of
 * the runtime process, or of a child it reaped if that was larger (kernel/exit.c fills wait4's
 * rusage with getrusage(RUSAGE_BOTH), whose maxrss is the max of the two), and ru_utime +
 * ru_stime its CPU time. Node's spawnSync gives
 * neither, and wrapping every call in /usr/bin/time would add an exec to each.
 *
 * Waiting for the init: `start` returns as soon as the user process is exec'd, and the init
 * was orphaned when `create` exited. This harness is a child subreaper (prctl(2)
 * PR_SET_CHILD_SUBREAPER), so the init is reparented to it and a blocking waitpid() on the
 * pid from --pid-file is the wait, identical for all runtimes and with no polling. (Without a
 * subreaper the init would go to PID 1, which on some machines never reaps: it would stay a
 * zombie and `state` would still see a pid.) Every other orphan is reaped between calls.
 *
 * Nothing is left behind: the "state" containers are deleted with --force, every entry still
 * in a runtime's --root is deleted with --force (and reported as a leak), and all children are
 * reaped; any process still parented here at the end is reported. stdout of runtime calls goes
 * to /dev/null and stderr to WORKDIR/NAME.stderr, which is printed if a call fails.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_RT 8

struct runtime {
	const char *name;
	const char *path;
	char root[PATH_MAX];
	char pidfile[PATH_MAX];
	char errlog[PATH_MAX];
	char state_id[128];
	int errfd;
};

/* One measured call: wall time, peak RSS, CPU time. */
struct sample {
	double ms;
	double rss_mb;
	double cpu_ms;
};

enum op { OP_RUN, OP_CREATE, OP_START, OP_WAIT, OP_DELETE, OP_CYCLE, OP_STATE, OP_KILL, OP_EXEC, OP_COUNT };
static const char *const op_label[OP_COUNT] = {
	[OP_RUN] = "run (/bin/true)",
	[OP_CREATE] = "cycle: create",
	[OP_START] = "cycle: start",
	[OP_WAIT] = "cycle: wait (init exits, reaped)",
	[OP_DELETE] = "cycle: delete",
	[OP_CYCLE] = "create+start+wait+delete",
	[OP_STATE] = "state (created container)",
	[OP_KILL] = "kill (created container, SIGCONT)",
	[OP_EXEC] = "exec /bin/true (created container, foreground)",
};
/* Rows of the tables, in print order. */
static const enum op op_order[] = { OP_RUN, OP_CYCLE, OP_CREATE, OP_START, OP_WAIT, OP_DELETE, OP_STATE, OP_KILL, OP_EXEC };
/* -o: which groups of operations run (all by default): run, cycle, state (state, kill, exec). */
static int do_run = 1, do_cycle = 1, do_state = 1;
static int op_selected(enum op o)
{
	return o == OP_RUN ? do_run : o == OP_STATE || o == OP_KILL || o == OP_EXEC ? do_state : do_cycle;
}
/* The wait step has no process of its own: no RSS or CPU for it. */
static int op_has_rusage(enum op o) { return o != OP_WAIT; }

static struct runtime rts[MAX_RT];
static int nrt;
static const char *bundle, *workdir, *prefix;
static int iterations = 50, warmup = 5;
static struct sample *samples[OP_COUNT][MAX_RT]; /* [op][runtime][iteration] */
static struct sample *floor_samples;
/* -F: the Bun floor program, timed once per iteration. */
static char *bun_floor;
static struct sample *bun_floor_samples;
static int devnull = -1;
static int failed;

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("harness: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double tv_ms(struct timeval tv) { return tv.tv_sec * 1e3 + tv.tv_usec / 1e3; }

/* Reaps every exited child that nobody is waiting for (reparented inits, stray helpers). */
static void reap_strays(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static void dump_errlog(struct runtime *rt)
{
	char buf[4096];
	int fd = open(rt->errlog, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	off_t size = lseek(fd, 0, SEEK_END);
	lseek(fd, size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0, SEEK_SET);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		fprintf(stderr, "--- tail of %s:\n%s\n", rt->errlog, buf);
	}
}

/* -g MS: milliseconds of quiet before each timed call. */
static long gap_ms;

/*
 * Runs argv (argv[0] is a path) with stdin and stdout on /dev/null and stderr on errfd, waits
 * for it and fills *s. Returns the wait status. The clock spans posix_spawn to wait4.
 */
static int spawn_wait(char *const argv[], int errfd, struct sample *s)
{
	if (gap_ms > 0) {
		/* -g: a quiet moment before the call, not timed (an isolated call, as an engine's
		 * create for a new pod is: nothing of the last call is still warm in the kernel). */
		struct timespec q = { gap_ms / 1000, (gap_ms % 1000) * 1000000L };
		while (nanosleep(&q, &q) < 0 && errno == EINTR)
			;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, devnull, 0);
	posix_spawn_file_actions_adddup2(&fa, devnull, 1);
	posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	pid_t pid;
	struct rusage ru;
	int status;
	double t0 = now_ms();
	int err = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	if (err)
		die("posix_spawn %s: %s", argv[0], strerror(err));
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			die("wait4 %d: %s", pid, strerror(errno));
	double t1 = now_ms();
	posix_spawn_file_actions_destroy(&fa);
	if (s) {
		s->ms = t1 - t0;
		s->rss_mb = ru.ru_maxrss / 1024.0;
		s->cpu_ms = tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime);
	}
	return status;
}

/* Runs `PATH --root ROOT verb args...`; a failure stops the benchmark unless `tolerate`. */
static int call(struct runtime *rt, struct sample *s, int tolerate, const char *verb, ...)
{
	char *argv[16];
	int n = 0;
	argv[n++] = (char *)rt->path;
	argv[n++] = "--root";
	argv[n++] = rt->root;
	argv[n++] = (char *)verb;
	va_list ap;
	va_start(ap, verb);
	for (const char *a; (a = va_arg(ap, const char *)) && n < 15;)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	int status = spawn_wait(argv, rt->errfd, s);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (!tolerate) {
		fprintf(stderr, "harness: `%s --root %s %s", rt->path, rt->root, verb);
		for (int i = 4; i < n; i++)
			fprintf(stderr, " %s", argv[i]);
		if (WIFEXITED(status))
			fprintf(stderr, "` exited %d\n", WEXITSTATUS(status));
		else
			fprintf(stderr, "` killed by signal %d\n", WTERMSIG(status));
		dump_errlog(rt);
		failed = 1;
	}
	return -1;
}

static pid_t read_pidfile(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long pid = -1;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = -1;
	fclose(f);
	return (pid_t)pid;
}

/* 1 while /proc/PID exists and is not a zombie (state Z) or dead (X). */
static int proc_alive(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')'); /* comm may hold spaces and parens */
	return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

/*
 * Waits for the container init to exit. It is our child (we are the subreaper and `create`
 * has exited), so waitpid blocks until then; if it is not (ECHILD: some other subreaper got
 * it), poll /proc instead, treating a zombie as exited.
 */
static void wait_init(pid_t pid)
{
	for (;;) {
		if (waitpid(pid, NULL, 0) == pid)
			return;
		if (errno == EINTR)
			continue;
		break;
	}
	while (proc_alive(pid)) {
		struct timespec ts = { 0, 100 * 1000 };
		nanosleep(&ts, NULL);
	}
}

/* One iteration of every operation for every runtime; samples recorded unless it < 0. */
static int iterate(int it)
{
	int rec = it >= 0;
	char id[128];
	int tag = rec ? it : -it - 1;
	const char *kind = rec ? "" : "w";

	/* Harness floor: the host's /bin/true, spawned the same way. */
	{
		char *argv[] = { "/bin/true", NULL };
		spawn_wait(argv, devnull, rec ? &floor_samples[it] : NULL);
	}
	if (bun_floor) {
		char *argv[] = { bun_floor, NULL };
		if (spawn_wait(argv, devnull, rec ? &bun_floor_samples[it] : NULL))
			die("%s failed", bun_floor);
	}

	for (int k = 0; do_run && k < nrt; k++) {
		struct runtime *rt = &rts[(k + tag) % nrt];
		int r = rt - rts;
		snprintf(id, sizeof(id), "%s-run%s%d", prefix, kind, tag);
		struct sample s;
		if (call(rt, &s, 0, "run", "-b", bundle, id, NULL))
			return -1;
		if (rec)
			samples[OP_RUN][r][it] = s;
		reap_strays();
	}

	for (int k = 0; do_cycle && k < nrt; k++) {
		struct runtime *rt = &rts[(k + tag) % nrt];
		int r = rt - rts;
		struct sample sc, ss, sw, sd;
		snprintf(id, sizeof(id), "%s-cyc%s%d", prefix, kind, tag);
		unlink(rt->pidfile);
		double t0 = now_ms();
		if (call(rt, &sc, 0, "create", "--pid-file", rt->pidfile, "-b", bundle, id, NULL))
			return -1;
		pid_t init = read_pidfile(rt->pidfile);
		if (init <= 0) {
			fprintf(stderr, "harness: %s create wrote no pid to %s\n", rt->name, rt->pidfile);
			failed = 1;
			return -1;
		}
		if (call(rt, &ss, 0, "start", id, NULL))
			return -1;
		double w0 = now_ms();
		wait_init(init);
		sw.ms = now_ms() - w0;
		sw.rss_mb = sw.cpu_ms = 0;
		if (call(rt, &sd, 0, "delete", id, NULL))
			return -1;
		double t1 = now_ms();
		reap_strays();
		if (rec) {
			samples[OP_CREATE][r][it] = sc;
			samples[OP_START][r][it] = ss;
			samples[OP_WAIT][r][it] = sw;
			samples[OP_DELETE][r][it] = sd;
			struct sample cy = { t1 - t0, fmax(sc.rss_mb, fmax(ss.rss_mb, sd.rss_mb)),
					     sc.cpu_ms + ss.cpu_ms + sd.cpu_ms };
			samples[OP_CYCLE][r][it] = cy;
		}
	}

	for (int k = 0; do_state && k < nrt; k++) {
		struct runtime *rt = &rts[(k + tag) % nrt];
		int r = rt - rts;
		struct sample s, sk, se;
		if (call(rt, &s, 0, "state", rt->state_id, NULL))
			return -1;
		/* SIGCONT: delivered to the waiting init, which it does not stop. */
		if (call(rt, &sk, 0, "kill", rt->state_id, "CONT", NULL))
			return -1;
		/* A process joins the created container and exits (an engine's exec probe). */
		if (call(rt, &se, 0, "exec", rt->state_id, "/bin/true", NULL))
			return -1;
		reap_strays();
		if (rec) {
			samples[OP_STATE][r][it] = s;
			samples[OP_KILL][r][it] = sk;
			samples[OP_EXEC][r][it] = se;
		}
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

struct stats {
	double median, p90;
};

/* field: 0 wall ms, 1 RSS MB, 2 CPU ms. p90 is nearest-rank. */
static struct stats stats_of(const struct sample *s, int n, int field)
{
	double *v = malloc(sizeof(double) * n);
	for (int i = 0; i < n; i++)
		v[i] = field == 0 ? s[i].ms : field == 1 ? s[i].rss_mb : s[i].cpu_ms;
	qsort(v, n, sizeof(double), cmp_double);
	struct stats st;
	st.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	int k = (int)ceil(0.9 * n) - 1;
	st.p90 = v[k < 0 ? 0 : k];
	free(v);
	return st;
}

static void print_table(int field)
{
	static const char *const title[] = {
		"Wall time per call, ms: median (p90)",
		"Peak RSS of the runtime process (wait4 ru_maxrss), MB: median",
		"CPU time of the runtime process (user + sys), ms: median",
	};
	printf("\n%s, N=%d\n\n| operation |", title[field], iterations);
	for (int r = 0; r < nrt; r++)
		printf(" %s |", rts[r].name);
	for (int r = 1; r < nrt; r++)
		printf(" %s/%s |", rts[0].name, rts[r].name);
	printf("\n|---|");
	for (int r = 0; r < 2 * nrt - 1; r++)
		printf("--:|");
	printf("\n");
	for (size_t i = 0; i < sizeof(op_order) / sizeof(op_order[0]); i++) {
		enum op o = op_order[i];
		if ((field && !op_has_rusage(o)) || !op_selected(o))
			continue;
		printf("| %s |", field == 1 && o == OP_CYCLE ? "cycle: largest of create/start/delete"
			   : field == 2 && o == OP_CYCLE ? "cycle: create+start+delete"
			   : op_label[o]);
		double med[MAX_RT];
		for (int r = 0; r < nrt; r++) {
			struct stats st = stats_of(samples[o][r], iterations, field);
			med[r] = st.median;
			if (field == 0)
				printf(" %.2f (%.2f) |", st.median, st.p90);
			else
				printf(" %.1f |", st.median);
		}
		for (int r = 1; r < nrt; r++)
			printf(med[r] > 0 ? " %.2f |" : " – |", med[0] / med[r]);
		printf("\n");
	}
	if (field == 0) {
		struct stats st = stats_of(floor_samples, iterations, 0);
		printf("\nHarness floor, in every number above: posix_spawn + wait4 of the host's "
		       "/bin/true takes %.2f ms (p90 %.2f).\n", st.median, st.p90);
	}
}

/* Issue 9's targets, as information: the harness never fails on a timing. */
static void print_targets(void)
{
	int crun = -1, floor_rt = -1;
	for (int r = 1; r < nrt; r++) {
		if (!strcmp(rts[r].name, "crun"))
			crun = r;
		if (!strcmp(rts[r].name, "floor"))
			floor_rt = r;
	}
	if (crun < 0)
		return;
	struct {
		enum op o;
		int field;
		double limit; /* a ratio to crun, or with field 1 (RSS) MB */
		const char *text;
	} t[] = {
		{ OP_RUN, 0, 1.0, "run ≤ 1.0× crun" },
		{ OP_CYCLE, 0, 1.2, "create+start+wait+delete ≤ 1.2×" },
		{ OP_STATE, 0, 1.5, "state ≤ 1.5×" },
		{ OP_START, 0, 1.5, "start ≤ 1.5×" },
		{ OP_KILL, 0, 1.5, "kill ≤ 1.5×" },
		{ OP_EXEC, 0, 1.0, "exec ≤ 1.0× (issue 11)" },
		{ OP_DELETE, 0, 1.5, "delete ≤ 1.5×" },
		{ OP_RUN, 2, 1.2, "CPU per run ≤ 1.2×" },
		{ OP_RUN, 1, 30.0, "peak RSS of run ≤ 30 MB" },
	};
	/* The Bun floor of each target (-F, and crun's kill as crun's least call). */
	int floors = bun_floor && op_selected(OP_KILL);
	if (floors) {
		struct stats w = stats_of(bun_floor_samples, iterations, 0), m = stats_of(bun_floor_samples, iterations, 1),
			     c = stats_of(bun_floor_samples, iterations, 2);
		printf("\nBun floor (-F %s): %.2f ms (p90 %.2f), peak RSS %.1f MB, CPU %.1f ms; crun's kill "
		       "(its least call) %.2f ms, CPU %.1f ms.\n",
		       bun_floor, w.median, w.p90, m.median, c.median, stats_of(samples[OP_KILL][crun], iterations, 0).median,
		       stats_of(samples[OP_KILL][crun], iterations, 2).median);
	}
	printf("\nTargets (%s against crun, medians%s%s):", rts[0].name,
	       floors ? "; in brackets the Bun floor: crun's time for it with each of crun's processes "
			"costing the Bun floor instead of crun's kill" : "",
	       floor_rt >= 0 ? "; and the floor runtime's own ratio (Bun, the addon and the core, none of runts's "
			       "TypeScript)" : "");
	int first = 1;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (!op_selected(t[i].o))
			continue;
		double mine = stats_of(samples[t[i].o][0], iterations, t[i].field).median;
		double theirs = stats_of(samples[t[i].o][crun], iterations, t[i].field).median;
		double q = t[i].field == 1 ? mine : mine / theirs;
		printf("%s %s: %.2f%s", first ? "" : ";", t[i].text, q, t[i].field == 1 ? " MB" : "");
		if (floors) {
			double f = stats_of(bun_floor_samples, iterations, t[i].field).median;
			if (t[i].field == 1) {
				printf(" (floor %.1f MB)", f);
			} else {
				/* create, start and delete are three processes; the others one. */
				int procs = t[i].o == OP_CYCLE ? 3 : 1;
				double least = stats_of(samples[OP_KILL][crun], iterations, t[i].field).median;
				double fl = (theirs - procs * least + procs * f) / theirs;
				printf(" (floor %.2f%s)", fl, fl > t[i].limit ? ", above the target" : "");
			}
		}
		if (floor_rt >= 0) {
			double f = stats_of(samples[t[i].o][floor_rt], iterations, t[i].field).median;
			printf(t[i].field == 1 ? " (floor runtime %.1f MB)" : " (floor runtime %.2f)", t[i].field == 1 ? f : f / theirs);
		}
		printf(", %s", q <= t[i].limit ? "met" : "not met");
		first = 0;
	}
	printf("\n");
}

/* -X: arbitrary commands, for bench/profile.sh. */
#define MAX_CMD 32
struct command {
	const char *label;
	char *argv[32];
	struct sample *s;
};

static int time_commands(int ncmd, struct command *cmds, int errfd)
{
	for (int i = -warmup; i < iterations; i++) {
		for (int k = 0; k < ncmd; k++) {
			int tag = i < 0 ? -i : i;
			struct command *c = &cmds[(k + tag) % ncmd];
			struct sample s;
			int status = spawn_wait(c->argv, errfd, &s);
			reap_strays();
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				fprintf(stderr, "harness: %s (%s) failed with wait status %#x\n", c->label,
					c->argv[0], status);
				return 1;
			}
			if (i >= 0)
				c->s[i] = s;
		}
	}
	printf("\nN=%d after %d warm-up rounds, commands interleaved\n\n", iterations, warmup);
	printf("| command | wall ms median (p90) | Δ vs %s | peak RSS MB | CPU ms (user+sys) |\n",
	       cmds[0].label);
	printf("|---|--:|--:|--:|--:|\n");
	double base = stats_of(cmds[0].s, iterations, 0).median;
	for (int k = 0; k < ncmd; k++) {
		struct stats w = stats_of(cmds[k].s, iterations, 0);
		printf("| %s | %.2f (%.2f) | %+.2f | %.1f | %.1f |\n", cmds[k].label, w.median, w.p90,
		       w.median - base, stats_of(cmds[k].s, iterations, 1).median,
		       stats_of(cmds[k].s, iterations, 2).median);
	}
	return 0;
}

/* Deletes whatever is left in each runtime's root, reaps all children, reports leaks. */
static int cleanup(void)
{
	int leaks = 0;
	for (int r = 0; r < nrt; r++) {
		struct runtime *rt = &rts[r];
		if (rt->state_id[0])
			call(rt, NULL, 1, "delete", "--force", rt->state_id, NULL);
		DIR *d = opendir(rt->root);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_type != DT_DIR || e->d_name[0] == '.')
				continue;
			if (strncmp(e->d_name, prefix, strlen(prefix)))
				continue; /* not a container of ours (e.g. crun's own files) */
			fprintf(stderr, "harness: leak: %s container %s left in %s; deleting\n", rt->name,
				e->d_name, rt->root);
			call(rt, NULL, 1, "delete", "--force", e->d_name, NULL);
			leaks++;
		}
		closedir(d);
	}
	/* Reap: a killed init may take a moment to exit. */
	double deadline = now_ms() + 5000;
	for (;;) {
		pid_t p = waitpid(-1, NULL, WNOHANG);
		if (p > 0)
			continue;
		if (p < 0 && errno == ECHILD)
			break;
		if (now_ms() > deadline) {
			fprintf(stderr, "harness: leak: children still running after cleanup:\n");
			char cmd[64];
			snprintf(cmd, sizeof(cmd), "ps -o pid,stat,args --ppid %d >&2", getpid());
			if (system(cmd) < 0)
				perror("ps");
			leaks++;
			break;
		}
		struct timespec ts = { 0, 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return leaks;
}

/* -S: run argv as a child subreaper, reap everything, exit with argv's status. */
static int subreaper(char **argv)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		die("prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
	pid_t child = fork();
	if (child < 0)
		die("fork: %s", strerror(errno));
	if (child == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	/* Ctrl-C reaches the whole process group; the script's EXIT trap cleans up and we keep
	 * reaping until it is done. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	int status = 0, st;
	for (;;) {
		pid_t p = waitpid(-1, &st, 0);
		if (p == child) {
			status = st;
			break;
		}
		if (p < 0 && errno != EINTR)
			die("waitpid: %s", strerror(errno));
	}
	double deadline = now_ms() + 10000;
	for (;;) {
		pid_t p = waitpid(-1, NULL, WNOHANG);
		if (p > 0)
			continue;
		if (p < 0 && errno == ECHILD)
			break;
		if (now_ms() > deadline) {
			fprintf(stderr, "harness: processes still running beneath %s after 10 s:\n", argv[0]);
			char cmd[64];
			snprintf(cmd, sizeof(cmd), "ps -o pid,stat,args --ppid %d >&2", getpid());
			if (system(cmd) < 0)
				perror("ps");
			return 1;
		}
		struct timespec ts = { 0, 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: harness -b BUNDLE -d WORKDIR -p ID_PREFIX [-n N] [-w WARMUP] [-g MS] [-o run,cycle,state] [-F PATH] NAME=PATH...\n"
		"       harness -X -d WORKDIR [-n N] [-w WARMUP] [-g MS] 'LABEL=PATH ARG...'...\n"
		"       harness -S COMMAND [ARG...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int c, xmode = 0;
	/* -S COMMAND...: everything after -S belongs to COMMAND. */
	if (argc > 2 && !strcmp(argv[1], "-S"))
		return subreaper(argv + 2);
	while ((c = getopt(argc, argv, "Xb:d:p:n:w:o:g:F:")) != -1) {
		switch (c) {
		case 'o':
			do_run = strstr(optarg, "run") != NULL;
			do_cycle = strstr(optarg, "cycle") != NULL;
			do_state = strstr(optarg, "state") != NULL;
			break;
		case 'X': xmode = 1; break;
		case 'b': bundle = optarg; break;
		case 'd': workdir = optarg; break;
		case 'p': prefix = optarg; break;
		case 'n': iterations = atoi(optarg); break;
		case 'w': warmup = atoi(optarg); break;
		case 'g': gap_ms = atol(optarg); break;
		case 'F': bun_floor = optarg; break;
		default: usage();
		}
	}
	if (!workdir || iterations < 1 || warmup < 0 || optind >= argc)
		usage();
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		die("open /dev/null: %s", strerror(errno));
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		die("prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
	if (xmode) {
		static struct command cmds[MAX_CMD];
		int ncmd = 0;
		for (; optind < argc && ncmd < MAX_CMD; optind++) {
			struct command *cm = &cmds[ncmd++];
			char *eq = strchr(argv[optind], '=');
			if (!eq)
				usage();
			*eq = 0;
			cm->label = argv[optind];
			int n = 0;
			for (char *tok = strtok(eq + 1, " "); tok && n < 31; tok = strtok(NULL, " "))
				cm->argv[n++] = tok;
			if (!n || access(cm->argv[0], X_OK))
				die("%s: not an executable path", cm->label);
			cm->s = calloc(iterations, sizeof(struct sample));
		}
		char errlog[PATH_MAX];
		snprintf(errlog, sizeof(errlog), "%s/commands.stderr", workdir);
		int errfd = open(errlog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (errfd < 0)
			die("open %s: %s", errlog, strerror(errno));
		return time_commands(ncmd, cmds, errfd);
	}
	if (!bundle || !prefix)
		usage();
	for (; optind < argc; optind++) {
		if (nrt == MAX_RT)
			die("at most %d runtimes", MAX_RT);
		char *eq = strchr(argv[optind], '=');
		if (!eq)
			usage();
		*eq = 0;
		struct runtime *rt = &rts[nrt++];
		rt->name = argv[optind];
		rt->path = eq + 1;
		if (access(rt->path, X_OK))
			die("%s: %s", rt->path, strerror(errno));
		snprintf(rt->root, sizeof(rt->root), "%s/root-%s", workdir, rt->name);
		snprintf(rt->pidfile, sizeof(rt->pidfile), "%s/pid-%s", workdir, rt->name);
		snprintf(rt->errlog, sizeof(rt->errlog), "%s/%s.stderr", workdir, rt->name);
		if (mkdir(rt->root, 0700) && errno != EEXIST)
			die("mkdir %s: %s", rt->root, strerror(errno));
		rt->errfd = open(rt->errlog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (rt->errfd < 0)
			die("open %s: %s", rt->errlog, strerror(errno));
	}
	for (int o = 0; o < OP_COUNT; o++)
		for (int r = 0; r < nrt; r++)
			samples[o][r] = calloc(iterations, sizeof(struct sample));
	floor_samples = calloc(iterations, sizeof(struct sample));
	bun_floor_samples = calloc(iterations, sizeof(struct sample));
	if (bun_floor && access(bun_floor, X_OK))
		die("-F %s: %s", bun_floor, strerror(errno));

	/* One created container per runtime for `state` and `kill`. */
	for (int r = 0; do_state && r < nrt; r++) {
		struct runtime *rt = &rts[r];
		snprintf(rt->state_id, sizeof(rt->state_id), "%s-state", prefix);
		if (call(rt, NULL, 0, "create", "-b", bundle, rt->state_id, NULL)) {
			rt->state_id[0] = 0;
			goto out;
		}
	}

	for (int i = 0; i < warmup && !failed; i++)
		if (iterate(-i - 1))
			goto out;
	for (int i = 0; i < iterations && !failed; i++) {
		if (iterate(i))
			goto out;
		if ((i + 1) % 10 == 0 || i + 1 == iterations)
			fprintf(stderr, "harness: %d/%d iterations\n", i + 1, iterations);
	}
out:;
	int leaks = cleanup();
	if (failed)
		return 1;
	print_table(0);
	print_table(1);
	print_table(2);
	print_targets();
	printf("\nLeaks after cleanup: %s\n", leaks ? "see stderr" : "none (roots empty, all children reaped)");
	return leaks ? 1 : 0;
}
