/*
 * memfloor — the kernel's own memory floor of exec'ing a program in a fresh cgroup, with no
 * runtime at all: the number the memory-floor row of bench/scale.sh compares the runtimes with.
 *
 *   memfloor NAME PROGRAM ARGV0 LIMIT_KIB...
 *
 * For each limit in turn (ascending), 20 times: make the cgroup NAME with memory limit LIMIT and
 * pids.max 1 (cgroup v1: in the memory and pids hierarchies; cgroup v2: under the root, whose
 * subtree_control must hold memory and pids), fork, and in the child move itself into it
 * (writing "0", as runts's init does) and execve PROGRAM with argv[0] ARGV0; it passes when the
 * child exits 0. Prints the first limit that passed all 20 runs, or "-" if none did. The child
 * is a copy of this small static program, so what the cgroup is charged is the exec itself: the
 * new mm, its page tables and stack, the program's own pages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int v2;
static char mem_dir[256], pids_dir[256];

static void put(const char *dir, const char *file, const char *value)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, value, strlen(value)) < 0) {
		fprintf(stderr, "memfloor: write %s: %s\n", path, strerror(errno));
		exit(2);
	}
	close(fd);
}

static int open_procs(const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, v2 ? "cgroup.procs" : "tasks");
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "memfloor: open %s: %s\n", path, strerror(errno));
		exit(2);
	}
	return fd;
}

/* One run under `kib`: whether PROGRAM exited 0. */
static int run_once(long kib, char *program, char *argv0)
{
	char limit[32];
	snprintf(limit, sizeof(limit), "%ld", kib * 1024);
	if ((mkdir(mem_dir, 0755) && errno != EEXIST) || (!v2 && mkdir(pids_dir, 0755) && errno != EEXIST)) {
		fprintf(stderr, "memfloor: mkdir %s: %s\n", mem_dir, strerror(errno));
		exit(2);
	}
	put(mem_dir, v2 ? "memory.max" : "memory.limit_in_bytes", limit);
	if (v2)
		put(mem_dir, "memory.swap.max", "0");
	put(pids_dir, "pids.max", "1");
	int mem = open_procs(mem_dir), pids = v2 ? -1 : open_procs(pids_dir);
	pid_t pid = fork();
	if (pid < 0) {
		perror("memfloor: fork");
		exit(2);
	}
	if (pid == 0) {
		if ((pids >= 0 && write(pids, "0", 1) < 0) || write(mem, "0", 1) < 0)
			_exit(3);
		char *args[] = { argv0, NULL };
		execv(program, args);
		_exit(4);
	}
	close(mem);
	if (pids >= 0)
		close(pids);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			perror("memfloor: waitpid");
			exit(2);
		}
	/* An OOM kill can take a moment to leave the cgroup empty. */
	for (int i = 0; i < 100 && rmdir(mem_dir) && errno == EBUSY; i++)
		usleep(1000);
	if (!v2)
		for (int i = 0; i < 100 && rmdir(pids_dir) && errno == EBUSY; i++)
			usleep(1000);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: memfloor NAME PROGRAM ARGV0 LIMIT_KIB...\n");
		return 2;
	}
	v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
	if (v2) {
		snprintf(mem_dir, sizeof(mem_dir), "/sys/fs/cgroup/%s", argv[1]);
		strcpy(pids_dir, mem_dir);
	} else {
		snprintf(mem_dir, sizeof(mem_dir), "/sys/fs/cgroup/memory/%s", argv[1]);
		snprintf(pids_dir, sizeof(pids_dir), "/sys/fs/cgroup/pids/%s", argv[1]);
	}
	for (int a = 4; a < argc; a++) {
		long kib = atol(argv[a]);
		int ok = 1;
		for (int i = 0; i < 20 && ok; i++)
			ok = run_once(kib, argv[2], argv[3]);
		if (ok) {
			printf("%ld\n", kib);
			return 0;
		}
	}
	printf("-\n");
	return 0;
}
