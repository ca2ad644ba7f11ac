/*
 * fs-shim.so: an LD_PRELOAD library for tests. It fails chosen file-system
 * calls of one process (by operation, path and occurrence, with an errno or
 * a short write) and records every file-system mutation the process makes,
 * with the data written, so that test/helpers/crash-states.ts can rebuild
 * what a power cut could leave on disk. Hand-written C because nothing
 * packaged does this for a Node process: strace can fail a call by path and
 * occurrence but cannot write part of a buffer or be re-armed in a running
 * process, libfiu fails calls by name or at random, and neither keeps the
 * data written for replay.
 *
 * README.md beside this file describes the environment variables, the rule
 * syntax, the control and stats files and the record format.
 */
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* Descriptors at or above this are left untracked: calls on them pass through. */
#define FD_SLOTS 65536
#define MAX_RULES 64
#define PATTERN_MAX 1024
#define SPEC_MAX 512
#define CONTROL_MAX 65536
/* Three JSON strings of a path each (every byte escaped to at most six) and the numbers. */
#define LINE_CAPACITY (3 * 6 * PATH_MAX + 1024)
#define STATS_CAPACITY (MAX_RULES * (6 * SPEC_MAX + 6 * 64 + 128) + 2 * SPEC_MAX + 256)

/* The next definition (libc's) of an interposed function, looked up on first use:
 * other libraries' constructors may call in before ours has run. */
static void *next_symbol(const char *name)
{
	void *fn = dlsym(RTLD_NEXT, name);
	if (!fn) {
		fprintf(stderr, "fs-shim: no definition of %s after the shim\n", name);
		abort();
	}
	return fn;
}

#define REAL(name)                                                                   \
	({                                                                           \
		static __typeof__(&name) resolved_;                                  \
		__typeof__(&name) fn_ = __atomic_load_n(&resolved_, __ATOMIC_ACQUIRE); \
		if (!fn_) {                                                          \
			fn_ = (__typeof__(&name))next_symbol(#name);                 \
			__atomic_store_n(&resolved_, fn_, __ATOMIC_RELEASE);         \
		}                                                                    \
		fn_;                                                                 \
	})

/* The libc entry points interposed; the record names the one each call came through. */
enum entry {
	E_OPEN, E_OPEN64, E_OPENAT, E_OPENAT64,
	E_CLOSE, E_SYSCALL_CLOSE,
	E_DUP, E_DUP2, E_DUP3,
	E_WRITE, E_PWRITE, E_PWRITE64, E_WRITEV, E_PWRITEV, E_PWRITEV64,
	E_SENDFILE, E_SENDFILE64, E_SYSCALL_COPY_FILE_RANGE,
	E_FSYNC, E_FDATASYNC, E_FTRUNCATE, E_FTRUNCATE64,
	E_RENAME, E_RENAMEAT, E_RENAMEAT2,
	E_LINK, E_LINKAT, E_SYMLINK, E_SYMLINKAT,
	E_UNLINK, E_UNLINKAT, E_RMDIR,
	E_MKDIR, E_MKDIRAT, E_MKDTEMP,
};

static const char *const entry_names[] = {
	[E_OPEN] = "open", [E_OPEN64] = "open64", [E_OPENAT] = "openat", [E_OPENAT64] = "openat64",
	[E_CLOSE] = "close", [E_SYSCALL_CLOSE] = "syscall(SYS_close)",
	[E_DUP] = "dup", [E_DUP2] = "dup2", [E_DUP3] = "dup3",
	[E_WRITE] = "write", [E_PWRITE] = "pwrite", [E_PWRITE64] = "pwrite64",
	[E_WRITEV] = "writev", [E_PWRITEV] = "pwritev", [E_PWRITEV64] = "pwritev64",
	[E_SENDFILE] = "sendfile", [E_SENDFILE64] = "sendfile64",
	[E_SYSCALL_COPY_FILE_RANGE] = "syscall(SYS_copy_file_range)",
	[E_FSYNC] = "fsync", [E_FDATASYNC] = "fdatasync", [E_FTRUNCATE] = "ftruncate", [E_FTRUNCATE64] = "ftruncate64",
	[E_RENAME] = "rename", [E_RENAMEAT] = "renameat", [E_RENAMEAT2] = "renameat2",
	[E_LINK] = "link", [E_LINKAT] = "linkat", [E_SYMLINK] = "symlink", [E_SYMLINKAT] = "symlinkat",
	[E_UNLINK] = "unlink", [E_UNLINKAT] = "unlinkat", [E_RMDIR] = "rmdir",
	[E_MKDIR] = "mkdir", [E_MKDIRAT] = "mkdirat", [E_MKDTEMP] = "mkdtemp",
};

/* What a call does, whatever entry point it came through: rules and records speak of these. */
enum op {
	OP_OPEN, OP_CLOSE, OP_DUP, OP_WRITE, OP_FTRUNCATE, OP_FSYNC, OP_FDATASYNC,
	OP_RENAME, OP_LINK, OP_SYMLINK, OP_UNLINK, OP_RMDIR, OP_MKDIR, OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	[OP_OPEN] = "open", [OP_CLOSE] = "close", [OP_DUP] = "dup", [OP_WRITE] = "write",
	[OP_FTRUNCATE] = "ftruncate", [OP_FSYNC] = "fsync", [OP_FDATASYNC] = "fdatasync",
	[OP_RENAME] = "rename", [OP_LINK] = "link", [OP_SYMLINK] = "symlink",
	[OP_UNLINK] = "unlink", [OP_RMDIR] = "rmdir", [OP_MKDIR] = "mkdir",
};

/* close and dup only move descriptors around: failing them is not offered. */
#define FAULTABLE_OPS (((1u << OP_COUNT) - 1) & ~(1u << OP_CLOSE) & ~(1u << OP_DUP))

static const struct {
	const char *name;
	int value;
} errno_names[] = {
	{"EPERM", EPERM}, {"ENOENT", ENOENT}, {"EINTR", EINTR}, {"EIO", EIO}, {"EBADF", EBADF},
	{"EAGAIN", EAGAIN}, {"ENOMEM", ENOMEM}, {"EACCES", EACCES}, {"EBUSY", EBUSY},
	{"EEXIST", EEXIST}, {"EXDEV", EXDEV}, {"ENOTDIR", ENOTDIR}, {"EISDIR", EISDIR},
	{"EINVAL", EINVAL}, {"ENFILE", ENFILE}, {"EMFILE", EMFILE}, {"EFBIG", EFBIG},
	{"ENOSPC", ENOSPC}, {"ESPIPE", ESPIPE}, {"EROFS", EROFS}, {"EMLINK", EMLINK},
	{"ENAMETOOLONG", ENAMETOOLONG}, {"ENOTEMPTY", ENOTEMPTY}, {"ELOOP", ELOOP},
	{"ENOSYS", ENOSYS}, {"EOVERFLOW", EOVERFLOW}, {"ESTALE", ESTALE}, {"EDQUOT", EDQUOT},
};

static const char *errno_name(int value)
{
	for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
		if (errno_names[i].value == value)
			return errno_names[i].name;
	return NULL;
}

static int errno_value(const char *text)
{
	for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
		if (!strcmp(errno_names[i].name, text))
			return errno_names[i].value;
	char *end;
	long value = strtol(text, &end, 10);
	return *text && !*end && value > 0 && value < 4096 ? (int)value : 0;
}

/* ---- process state ------------------------------------------------------ */

/* What a descriptor opened by path refers to. The device and inode catch a slot
 * left stale by a close the shim did not see (glibc's own, inside fclose). */
struct tracked_fd {
	dev_t dev;
	ino_t ino;
	int flags;
	char path[];
};

/* Read without the lock only as a hint ("may be tracked"); changed and used under it. */
static struct tracked_fd *fd_slots[FD_SLOTS];

/* One lock orders every decision, real call and record line, so record sequence
 * numbers follow the order of the system calls across libuv's threadpool. */
static pthread_mutex_t shim_lock = PTHREAD_MUTEX_INITIALIZER;
static bool active;
static pid_t shim_pid;

enum occurrence { EVERY, NTH, FROM };
enum effect { COUNT_ONLY, FAIL, SHORT_WRITE };

struct rule {
	char name[64];
	char spec[SPEC_MAX];
	unsigned ops;
	char pattern[PATTERN_MAX];
	bool glob;
	enum occurrence occurrence;
	unsigned long n;
	enum effect effect;
	int err;
	long short_bytes; /* -1: half of the request */
	bool from_control;
	unsigned long matches;
	unsigned long fired;
};

struct verdict {
	enum effect effect;
	int err;
	long short_bytes;
};

/* rules[0, env_rule_count) come from FS_SHIM_FAULTS, the rest from the control file. */
static struct rule rules[MAX_RULES];
static int env_rule_count;
static int rule_count;
static char parse_error[SPEC_MAX + 128];

static char control_path[PATH_MAX];
static char control_error[SPEC_MAX + 128];
static struct {
	bool present;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
} control_seen;
static char stats_path[PATH_MAX];

static int log_fd = -1;
static int data_fd = -1;
static unsigned long long data_offset;
static unsigned long long record_seq;
static char record_prefix[PATH_MAX];
static size_t record_prefix_len;

static void lock_shim(sigset_t *saved)
{
	/* A signal handler that writes (libuv's signal pipe) must not run on a
	 * thread that holds the lock: that would deadlock if its fd were tracked. */
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, saved);
	pthread_mutex_lock(&shim_lock);
}

static void unlock_shim(const sigset_t *saved)
{
	pthread_mutex_unlock(&shim_lock);
	pthread_sigmask(SIG_SETMASK, saved, NULL);
}

/* ---- text building (JSON) ----------------------------------------------- */

struct text {
	char *buf;
	size_t cap;
	size_t len;
};

static char line_buf[LINE_CAPACITY];
static struct text line = {line_buf, sizeof line_buf, 0};
static char stats_buf[STATS_CAPACITY];
static struct text stats = {stats_buf, sizeof stats_buf, 0};

static void put(struct text *t, const char *s, size_t n)
{
	if (n > t->cap - t->len)
		n = t->cap - t->len;
	memcpy(t->buf + t->len, s, n);
	t->len += n;
}

static void put_str(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

static void put_fmt(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_fmt(struct text *t, const char *fmt, ...)
{
	size_t room = t->cap - t->len;
	if (room == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->buf + t->len, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len += (size_t)n < room ? (size_t)n : room - 1;
}

/* Paths are taken to be UTF-8; only quotes, backslashes and control bytes are escaped. */
static void put_json_string(struct text *t, const char *s)
{
	put_str(t, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			char escaped[2] = {'\\', (char)*p};
			put(t, escaped, 2);
		} else if (*p < 0x20) {
			put_fmt(t, "\\u%04x", *p);
		} else {
			put(t, (const char *)p, 1);
		}
	}
	put_str(t, "\"");
}

static void put_field_str(struct text *t, const char *key, const char *value)
{
	put_fmt(t, ",\"%s\":", key);
	put_json_string(t, value);
}

static void put_field_num(struct text *t, const char *key, long long value)
{
	put_fmt(t, ",\"%s\":%lld", key, value);
}

static void put_field_bool(struct text *t, const char *key, bool value)
{
	put_fmt(t, ",\"%s\":%s", key, value ? "true" : "false");
}

static bool write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = REAL(write)(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/* ---- paths -------------------------------------------------------------- */

/* Folds "", "." and ".." lexically, without following symlinks, so a name is
 * recorded as the program spelled it (made absolute). */
static bool normalize(const char *raw, char out[PATH_MAX])
{
	size_t len = 0;
	const char *p = raw;
	while (*p) {
		while (*p == '/')
			p++;
		const char *start = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - start);
		if (n == 0 || (n == 1 && start[0] == '.'))
			continue;
		if (n == 2 && start[0] == '.' && start[1] == '.') {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			continue;
		}
		if (len + 1 + n + 1 > PATH_MAX)
			return false;
		out[len++] = '/';
		memcpy(out + len, start, n);
		len += n;
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	return true;
}

static bool absolute_path(int dirfd, const char *path, char out[PATH_MAX])
{
	char raw[2 * PATH_MAX + 2];
	size_t used = 0;
	size_t len = strlen(path);
	if (len >= PATH_MAX)
		return false;
	if (path[0] != '/') {
		if (dirfd == AT_FDCWD) {
			if (!getcwd(raw, PATH_MAX))
				return false;
		} else {
			char link[64];
			snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
			ssize_t n = readlink(link, raw, PATH_MAX - 1);
			if (n < 0)
				return false;
			raw[n] = '\0';
		}
		used = strlen(raw);
		raw[used++] = '/';
	}
	memcpy(raw + used, path, len + 1);
	return normalize(raw, out);
}

static bool recorded(const char *path)
{
	if (log_fd < 0)
		return false;
	if (record_prefix_len == 1)
		return true;
	return strncmp(path, record_prefix, record_prefix_len) == 0 &&
	       (path[record_prefix_len] == '\0' || path[record_prefix_len] == '/');
}

/* ---- descriptor table ----------------------------------------------------- */

static struct tracked_fd *peek_slot(int fd)
{
	return fd >= 0 && fd < FD_SLOTS ? __atomic_load_n(&fd_slots[fd], __ATOMIC_ACQUIRE) : NULL;
}

/* Under shim_lock. */
static void set_slot(int fd, struct tracked_fd *t)
{
	if (fd < 0 || fd >= FD_SLOTS) {
		free(t);
		return;
	}
	struct tracked_fd *old = __atomic_load_n(&fd_slots[fd], __ATOMIC_ACQUIRE);
	__atomic_store_n(&fd_slots[fd], t, __ATOMIC_RELEASE);
	free(old);
}

/* Under shim_lock: the descriptor's entry if it still names the file it was opened on. */
static struct tracked_fd *tracked_at(int fd, struct stat *st)
{
	struct tracked_fd *t = peek_slot(fd);
	if (t && (fstat(fd, st) != 0 || st->st_dev != t->dev || st->st_ino != t->ino)) {
		set_slot(fd, NULL);
		t = NULL;
	}
	return t;
}

static struct tracked_fd *new_tracked(const char *path, int flags, const struct stat *st)
{
	size_t len = strlen(path);
	struct tracked_fd *t = malloc(sizeof *t + len + 1);
	if (t) {
		t->dev = st->st_dev;
		t->ino = st->st_ino;
		t->flags = flags;
		memcpy(t->path, path, len + 1);
	}
	return t;
}

/* ---- rules, control file, stats ----------------------------------------- */

static bool parse_ops(const char *list, unsigned *ops)
{
	char copy[256];
	if (strlen(list) >= sizeof copy)
		return false;
	strcpy(copy, list);
	char *save = NULL;
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		if (!strcmp(name, "any")) {
			*ops |= FAULTABLE_OPS;
			continue;
		}
		if (!strcmp(name, "sync")) {
			*ops |= 1u << OP_FSYNC | 1u << OP_FDATASYNC;
			continue;
		}
		unsigned found = 0;
		for (int op = 0; op < OP_COUNT; op++)
			if (!strcmp(name, op_names[op]) && (FAULTABLE_OPS & (1u << op)))
				found = 1u << op;
		if (!found)
			return false;
		*ops |= found;
	}
	return *ops != 0;
}

static bool parse_count(const char *text, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long value = strtoul(text, &end, 10);
	if (!*text || *end || errno || value == 0)
		return false;
	*out = value;
	return true;
}

/* One rule, "key=value ..."; text is modified. Returns NULL or what is wrong. */
static const char *parse_rule(char *text, bool from_control, int index, struct rule *r)
{
	memset(r, 0, sizeof *r);
	snprintf(r->spec, sizeof r->spec, "%s", text);
	snprintf(r->name, sizeof r->name, "%s#%d", from_control ? "control" : "env", index);
	r->from_control = from_control;
	char *save = NULL;
	for (char *token = strtok_r(text, " \t\r", &save); token; token = strtok_r(NULL, " \t\r", &save)) {
		char *eq = strchr(token, '=');
		if (!eq)
			return "expected key=value";
		*eq = '\0';
		const char *key = token;
		const char *value = eq + 1;
		if (!strcmp(key, "name")) {
			if (strlen(value) >= sizeof r->name)
				return "name too long";
			strcpy(r->name, value);
		} else if (!strcmp(key, "op")) {
			if (!parse_ops(value, &r->ops))
				return "unknown op (open, write, ftruncate, fsync, fdatasync, sync, rename, link, symlink, unlink, rmdir, mkdir, any)";
		} else if (!strcmp(key, "path")) {
			if (strlen(value) >= sizeof r->pattern)
				return "path pattern too long";
			strcpy(r->pattern, value);
			r->glob = strpbrk(value, "*?[") != NULL;
		} else if (!strcmp(key, "nth") || !strcmp(key, "from")) {
			if (r->occurrence != EVERY)
				return "nth= and from= exclude each other";
			if (!parse_count(value, &r->n))
				return "nth= and from= take a count from 1";
			r->occurrence = key[0] == 'n' ? NTH : FROM;
		} else if (!strcmp(key, "errno")) {
			if (r->effect != COUNT_ONLY)
				return "errno= and short= exclude each other";
			r->effect = FAIL;
			r->err = errno_value(value);
			if (!r->err)
				return "unknown errno";
		} else if (!strcmp(key, "short")) {
			if (r->effect != COUNT_ONLY)
				return "errno= and short= exclude each other";
			r->effect = SHORT_WRITE;
			unsigned long bytes;
			if (!strcmp(value, "half"))
				r->short_bytes = -1;
			else if (parse_count(value, &bytes) && bytes <= LONG_MAX)
				r->short_bytes = (long)bytes;
			else
				return "short= takes a byte count from 1 or half";
		} else {
			return "unknown key (name, op, path, nth, from, errno, short)";
		}
	}
	if (!r->ops)
		return "a rule needs op=";
	if (r->effect == SHORT_WRITE && r->ops != 1u << OP_WRITE)
		return "short= applies to op=write only";
	return NULL;
}

/* Rules separated by newlines or ';', '#' to the end of a line a comment; text is modified.
 * Fills rules[first...]; returns how many, or -1 with parse_error set. */
static int parse_rules(char *text, bool from_control, int first)
{
	int count = 0;
	char *save = NULL;
	for (char *spec = strtok_r(text, "\n;", &save); spec; spec = strtok_r(NULL, "\n;", &save)) {
		char *comment = strchr(spec, '#');
		if (comment)
			*comment = '\0';
		spec += strspn(spec, " \t\r");
		if (!*spec)
			continue;
		if (first + count >= MAX_RULES) {
			snprintf(parse_error, sizeof parse_error, "more than %d rules", MAX_RULES);
			return -1;
		}
		const char *problem = parse_rule(spec, from_control, count, &rules[first + count]);
		if (problem) {
			snprintf(parse_error, sizeof parse_error, "rule '%s': %s", rules[first + count].spec, problem);
			return -1;
		}
		count++;
	}
	return count;
}

/* Under shim_lock (or before any other thread exists). Replaced whole by a rename
 * so that a test never reads half of it. */
static void write_stats(void)
{
	if (!stats_path[0])
		return;
	struct text *t = &stats;
	t->len = 0;
	put_fmt(t, "{\"pid\":%d,\"controlError\":", (int)shim_pid);
	if (control_error[0])
		put_json_string(t, control_error);
	else
		put_str(t, "null");
	put_str(t, ",\"rules\":[");
	for (int i = 0; i < rule_count; i++) {
		const struct rule *r = &rules[i];
		put_str(t, i ? ",{\"name\":" : "{\"name\":");
		put_json_string(t, r->name);
		put_field_str(t, "source", r->from_control ? "control" : "env");
		put_field_str(t, "rule", r->spec);
		put_fmt(t, ",\"matches\":%lu,\"fired\":%lu}", r->matches, r->fired);
	}
	put_str(t, "]}\n");
	char temp[PATH_MAX + 8];
	snprintf(temp, sizeof temp, "%s.tmp", stats_path);
	int fd = REAL(open)(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	bool written = write_all(fd, t->buf, t->len);
	REAL(close)(fd);
	if (written)
		REAL(rename)(temp, stats_path);
}

/* Under shim_lock. A changed control file (inode, size or mtime) replaces the
 * control rules, whose counts start again from zero; a missing one removes them. */
static void reload_control_if_changed(void)
{
	if (!control_path[0])
		return;
	struct stat st;
	bool present = stat(control_path, &st) == 0;
	if (present == control_seen.present &&
	    (!present || (st.st_dev == control_seen.dev && st.st_ino == control_seen.ino &&
			  st.st_size == control_seen.size && st.st_mtim.tv_sec == control_seen.mtime.tv_sec &&
			  st.st_mtim.tv_nsec == control_seen.mtime.tv_nsec)))
		return;
	control_error[0] = '\0';
	control_seen.present = false;
	rule_count = env_rule_count;
	int fd = present ? REAL(open)(control_path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd >= 0) {
		static char text[CONTROL_MAX + 1];
		size_t len = 0;
		ssize_t n;
		bool stamped = fstat(fd, &st) == 0;
		while (len < CONTROL_MAX && (n = read(fd, text + len, CONTROL_MAX - len)) > 0)
			len += (size_t)n;
		REAL(close)(fd);
		text[len] = '\0';
		if (stamped) {
			control_seen.present = true;
			control_seen.dev = st.st_dev;
			control_seen.ino = st.st_ino;
			control_seen.size = st.st_size;
			control_seen.mtime = st.st_mtim;
		}
		int count = parse_rules(text, true, env_rule_count);
		if (count < 0) {
			snprintf(control_error, sizeof control_error, "%s", parse_error);
			fprintf(stderr, "fs-shim: %s: %s\n", control_path, parse_error);
		} else {
			rule_count = env_rule_count + count;
		}
	}
	write_stats();
}

static bool pattern_matches(const struct rule *r, const char *path)
{
	if (!r->pattern[0])
		return true;
	return r->glob ? fnmatch(r->pattern, path, 0) == 0 : strstr(path, r->pattern) != NULL;
}

/* Under shim_lock. Every matching rule counts the call; the first one due decides. */
static struct verdict judge(enum op op, const char *path, const char *other_path)
{
	struct verdict v = {COUNT_ONLY, 0, 0};
	bool matched = false;
	for (int i = 0; i < rule_count; i++) {
		struct rule *r = &rules[i];
		if (!(r->ops & (1u << op)))
			continue;
		if (!pattern_matches(r, path) && !(other_path && pattern_matches(r, other_path)))
			continue;
		matched = true;
		r->matches++;
		bool due = r->occurrence == EVERY || (r->occurrence == NTH && r->matches == r->n) ||
			   (r->occurrence == FROM && r->matches >= r->n);
		if (due && r->effect != COUNT_ONLY && v.effect == COUNT_ONLY) {
			v.effect = r->effect;
			v.err = r->err;
			v.short_bytes = r->short_bytes;
			r->fired++;
		}
	}
	if (matched)
		write_stats();
	return v;
}

/* A short write is shorter than asked, as a filling disk makes it; 0 means none is possible. */
static size_t short_length(long short_bytes, size_t requested)
{
	size_t keep = short_bytes < 0 ? requested / 2 : (size_t)short_bytes;
	return keep < requested ? keep : requested - 1;
}

/* ---- records -------------------------------------------------------------- */

/* Under shim_lock. A record that cannot be written ends recording rather than leave a log that lies. */
static void stop_recording(void)
{
	if (log_fd < 0)
		return;
	fprintf(stderr, "fs-shim: cannot write the record (%s); recording stopped\n", strerror(errno));
	REAL(close)(log_fd);
	REAL(close)(data_fd);
	log_fd = data_fd = -1;
}

static void record_start(enum entry e, enum op op, const char *path)
{
	line.len = 0;
	put_fmt(&line, "{\"seq\":%llu,\"pid\":%d,\"tid\":%d", ++record_seq, (int)shim_pid, (int)gettid());
	put_field_str(&line, "fn", entry_names[e]);
	put_field_str(&line, "op", op_names[op]);
	put_field_str(&line, "path", path);
}

static void record_outcome(long long ret, int err, const struct verdict *v)
{
	put_field_num(&line, "ret", ret);
	if (ret < 0) {
		const char *name = errno_name(err);
		if (name)
			put_field_str(&line, "errno", name);
		else
			put_fmt(&line, ",\"errno\":\"%d\"", err);
	}
	if (v && v->effect == FAIL)
		put_field_str(&line, "injected", errno_name(v->err) ? errno_name(v->err) : "errno");
	else if (v && v->effect == SHORT_WRITE)
		put_field_str(&line, "injected", "short");
}

static void record_finish(void)
{
	put_str(&line, "}\n");
	if (log_fd >= 0 && !write_all(log_fd, line.buf, line.len))
		stop_recording();
}

/* Appends the first len bytes of iov to the data file; returns where they start there. */
static long long record_data(const struct iovec *iov, int iovcnt, size_t len)
{
	long long at = (long long)data_offset;
	for (int i = 0; i < iovcnt && len > 0 && data_fd >= 0; i++) {
		size_t n = iov[i].iov_len < len ? iov[i].iov_len : len;
		if (!write_all(data_fd, iov[i].iov_base, n)) {
			stop_recording();
			break;
		}
		data_offset += n;
		len -= n;
	}
	return at;
}

/* Appends what sendfile or copy_file_range copied, read back from the source. */
static long long record_copied(int in_fd, off_t source, size_t len)
{
	static char chunk[65536];
	long long at = (long long)data_offset;
	while (len > 0 && data_fd >= 0) {
		ssize_t n = pread(in_fd, chunk, len < sizeof chunk ? len : sizeof chunk, source);
		if (n <= 0 || !write_all(data_fd, chunk, (size_t)n)) {
			stop_recording();
			break;
		}
		data_offset += (size_t)n;
		source += n;
		len -= (size_t)n;
	}
	return at;
}

static void put_open_flags(int flags)
{
	static const struct {
		int bit;
		const char *name;
	} names[] = {
		{O_CREAT, "O_CREAT"}, {O_EXCL, "O_EXCL"}, {O_TRUNC, "O_TRUNC"}, {O_APPEND, "O_APPEND"},
		{O_DIRECTORY, "O_DIRECTORY"}, {O_NOFOLLOW, "O_NOFOLLOW"},
	};
	int access = flags & O_ACCMODE;
	put_fmt(&line, ",\"flags\":[\"%s\"", access == O_WRONLY ? "O_WRONLY" : access == O_RDWR ? "O_RDWR" : "O_RDONLY");
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (flags & names[i].bit)
			put_fmt(&line, ",\"%s\"", names[i].name);
	if ((flags & O_SYNC) == O_SYNC)
		put_str(&line, ",\"O_SYNC\"");
	else if (flags & O_DSYNC)
		put_str(&line, ",\"O_DSYNC\"");
	put_str(&line, "]");
}

/* Where a write lands: Linux appends on an O_APPEND descriptor even for pwrite. */
static off_t write_offset(int fd, const struct tracked_fd *t, const struct stat *st, off_t position)
{
	if (t->flags & O_APPEND)
		return st->st_size;
	return position >= 0 ? position : lseek(fd, 0, SEEK_CUR);
}

/* ---- open ------------------------------------------------------------------ */

static int real_open_entry(enum entry e, int dirfd, const char *path, int flags, mode_t mode)
{
	switch (e) {
	case E_OPEN:
		return REAL(open)(path, flags, mode);
	case E_OPEN64:
		return REAL(open64)(path, flags, mode);
	case E_OPENAT:
		return REAL(openat)(dirfd, path, flags, mode);
	default:
		return REAL(openat64)(dirfd, path, flags, mode);
	}
}

static int do_open(enum entry e, int dirfd, const char *path, int flags, mode_t mode)
{
	char abs[PATH_MAX];
	if (!active || !path || !absolute_path(dirfd, path, abs))
		return real_open_entry(e, dirfd, path, flags, mode);
	sigset_t saved;
	lock_shim(&saved);
	reload_control_if_changed();
	struct verdict v = judge(OP_OPEN, abs, NULL);
	bool rec = recorded(abs);
	struct stat st;
	bool existed = rec && (flags & O_CREAT) && lstat(abs, &st) == 0;
	if (!rec)
		unlock_shim(&saved);
	int fd = v.effect == FAIL ? (errno = v.err, -1) : real_open_entry(e, dirfd, path, flags, mode);
	int err = errno;
	bool described = fd >= 0 && fstat(fd, &st) == 0;
	struct tracked_fd *t = described ? new_tracked(abs, flags, &st) : NULL;
	/* Insert after the real open: a close of the same number, which must come
	 * first, clears its slot under the lock before the number can be reused. */
	if (!rec)
		lock_shim(&saved);
	if (fd >= 0)
		set_slot(fd, t);
	if (rec) {
		record_start(e, OP_OPEN, abs);
		put_field_num(&line, "fd", fd);
		put_open_flags(flags);
		if (flags & O_CREAT)
			put_field_bool(&line, "created", fd >= 0 && !existed);
		if (described) {
			put_field_num(&line, "mode", st.st_mode & 07777);
			put_field_bool(&line, "dir", S_ISDIR(st.st_mode));
		}
		record_outcome(fd, err, &v);
		record_finish();
	}
	unlock_shim(&saved);
	errno = err;
	return fd;
}

static bool open_takes_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (open_takes_mode(flags)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return do_open(E_OPEN, AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (open_takes_mode(flags)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return do_open(E_OPEN64, AT_FDCWD, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (open_takes_mode(flags)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return do_open(E_OPENAT, dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (open_takes_mode(flags)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return do_open(E_OPENAT64, dirfd, path, flags, mode);
}

/* ---- close and dup ---------------------------------------------------------- */

static int real_close_entry(enum entry e, int fd)
{
	return e == E_CLOSE ? REAL(close)(fd) : (int)REAL(syscall)(SYS_close, fd);
}

static int do_close(enum entry e, int fd)
{
	if (!active || !peek_slot(fd))
		return real_close_entry(e, fd);
	sigset_t saved;
	lock_shim(&saved);
	struct stat st;
	struct tracked_fd *t = tracked_at(fd, &st);
	int ret = real_close_entry(e, fd);
	int err = errno;
	if (t && recorded(t->path)) {
		record_start(e, OP_CLOSE, t->path);
		put_field_num(&line, "fd", fd);
		record_outcome(ret, err, NULL);
		record_finish();
	}
	/* Linux releases the number even when close fails. */
	set_slot(fd, NULL);
	unlock_shim(&saved);
	errno = err;
	return ret;
}

int close(int fd)
{
	return do_close(E_CLOSE, fd);
}

static int real_dup_entry(enum entry e, int fd, int newfd, int flags)
{
	switch (e) {
	case E_DUP:
		return REAL(dup)(fd);
	case E_DUP2:
		return REAL(dup2)(fd, newfd);
	default:
		return REAL(dup3)(fd, newfd, flags);
	}
}

static int do_dup(enum entry e, int fd, int newfd, int flags)
{
	if (!active || (!peek_slot(fd) && !peek_slot(newfd)))
		return real_dup_entry(e, fd, newfd, flags);
	sigset_t saved;
	lock_shim(&saved);
	struct stat st;
	struct tracked_fd *t = tracked_at(fd, &st);
	int ret = real_dup_entry(e, fd, newfd, flags);
	int err = errno;
	if (ret >= 0 && ret != fd) {
		if (t && recorded(t->path)) {
			record_start(e, OP_DUP, t->path);
			put_field_num(&line, "fd", fd);
			put_field_num(&line, "newFd", ret);
			record_outcome(ret, err, NULL);
			record_finish();
		}
		set_slot(ret, t ? new_tracked(t->path, t->flags, &st) : NULL);
	}
	unlock_shim(&saved);
	errno = err;
	return ret;
}

int dup(int fd)
{
	return do_dup(E_DUP, fd, -1, 0);
}

int dup2(int fd, int newfd)
{
	return do_dup(E_DUP2, fd, newfd, 0);
}

int dup3(int fd, int newfd, int flags)
{
	return do_dup(E_DUP3, fd, newfd, flags);
}

/* ---- writes ---------------------------------------------------------------- */

static size_t iov_length(const struct iovec *iov, int iovcnt)
{
	size_t total = 0;
	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	return total;
}

static ssize_t real_write_entry(enum entry e, int fd, const struct iovec *iov, int iovcnt, off_t position)
{
	switch (e) {
	case E_WRITE:
		return REAL(write)(fd, iov[0].iov_base, iov[0].iov_len);
	case E_PWRITE:
		return REAL(pwrite)(fd, iov[0].iov_base, iov[0].iov_len, position);
	case E_PWRITE64:
		return REAL(pwrite64)(fd, iov[0].iov_base, iov[0].iov_len, position);
	case E_WRITEV:
		return REAL(writev)(fd, iov, iovcnt);
	case E_PWRITEV:
		return REAL(pwritev)(fd, iov, iovcnt, position);
	default:
		return REAL(pwritev64)(fd, iov, iovcnt, position);
	}
}

/* position < 0: at the file position (write, writev). */
static ssize_t do_write(enum entry e, int fd, const struct iovec *iov, int iovcnt, off_t position)
{
	if (!active || !peek_slot(fd))
		return real_write_entry(e, fd, iov, iovcnt, position);
	sigset_t saved;
	lock_shim(&saved);
	struct stat st;
	struct tracked_fd *t = tracked_at(fd, &st);
	if (!t) {
		unlock_shim(&saved);
		return real_write_entry(e, fd, iov, iovcnt, position);
	}
	reload_control_if_changed();
	struct verdict v = judge(OP_WRITE, t->path, NULL);
	bool rec = recorded(t->path);
	off_t offset = rec ? write_offset(fd, t, &st, position) : 0;
	if (!rec)
		unlock_shim(&saved);
	size_t requested = iov_length(iov, iovcnt);
	bool cuttable = requested > 0 && iovcnt > 0 && iovcnt <= IOV_MAX;
	struct iovec cut[cuttable ? iovcnt : 1];
	const struct iovec *sent = iov;
	int sent_count = iovcnt;
	if (v.effect == SHORT_WRITE && !cuttable) {
		v.effect = COUNT_ONLY;
	} else if (v.effect == SHORT_WRITE) {
		size_t keep = short_length(v.short_bytes, requested);
		if (keep == 0) {
			v.effect = FAIL;
			v.err = ENOSPC;
		} else {
			sent_count = 0;
			for (int i = 0; i < iovcnt && keep > 0; i++) {
				cut[i] = iov[i];
				if (cut[i].iov_len > keep)
					cut[i].iov_len = keep;
				keep -= cut[i].iov_len;
				sent_count++;
			}
			sent = cut;
		}
	}
	ssize_t ret = v.effect == FAIL ? (errno = v.err, -1) : real_write_entry(e, fd, sent, sent_count, position);
	int err = errno;
	if (rec) {
		size_t written = ret > 0 ? (size_t)ret : 0;
		long long data = written > 0 ? record_data(sent, sent_count, written) : 0;
		record_start(e, OP_WRITE, t->path);
		put_field_num(&line, "fd", fd);
		put_field_num(&line, "offset", offset);
		put_field_num(&line, "len", (long long)written);
		put_field_num(&line, "requested", (long long)requested);
		if (written > 0)
			put_field_num(&line, "data", data);
		record_outcome(ret, err, &v);
		record_finish();
		unlock_shim(&saved);
	}
	errno = err;
	return ret;
}

ssize_t write(int fd, const void *buf, size_t count)
{
	struct iovec iov = {(void *)buf, count};
	return do_write(E_WRITE, fd, &iov, 1, -1);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset)
{
	struct iovec iov = {(void *)buf, count};
	return do_write(E_PWRITE, fd, &iov, 1, offset);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off64_t offset)
{
	struct iovec iov = {(void *)buf, count};
	return do_write(E_PWRITE64, fd, &iov, 1, offset);
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	return do_write(E_WRITEV, fd, iov, iovcnt, -1);
}

ssize_t pwritev(int fd, const struct iovec *iov, int iovcnt, off_t offset)
{
	return do_write(E_PWRITEV, fd, iov, iovcnt, offset);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int iovcnt, off64_t offset)
{
	return do_write(E_PWRITEV64, fd, iov, iovcnt, offset);
}

/* sendfile and copy_file_range (fs.copyFile) write without a buffer in the process. */
static ssize_t real_copy_entry(enum entry e, int out_fd, int in_fd, off_t *in_off, off_t *out_off, size_t len,
			       unsigned flags)
{
	switch (e) {
	case E_SENDFILE:
		return REAL(sendfile)(out_fd, in_fd, in_off, len);
	case E_SENDFILE64:
		return REAL(sendfile64)(out_fd, in_fd, in_off, len);
	default:
		return REAL(syscall)(SYS_copy_file_range, in_fd, in_off, out_fd, out_off, len, flags);
	}
}

static ssize_t do_copy(enum entry e, int out_fd, int in_fd, off_t *in_off, off_t *out_off, size_t len, unsigned flags)
{
	if (!active || !peek_slot(out_fd))
		return real_copy_entry(e, out_fd, in_fd, in_off, out_off, len, flags);
	sigset_t saved;
	lock_shim(&saved);
	struct stat st;
	struct tracked_fd *t = tracked_at(out_fd, &st);
	if (!t) {
		unlock_shim(&saved);
		return real_copy_entry(e, out_fd, in_fd, in_off, out_off, len, flags);
	}
	reload_control_if_changed();
	struct verdict v = judge(OP_WRITE, t->path, NULL);
	bool rec = recorded(t->path);
	off_t offset = rec ? write_offset(out_fd, t, &st, out_off ? *out_off : -1) : 0;
	off_t source = rec ? (in_off ? *in_off : lseek(in_fd, 0, SEEK_CUR)) : 0;
	if (!rec)
		unlock_shim(&saved);
	size_t requested = len;
	if (v.effect == SHORT_WRITE && len == 0) {
		v.effect = COUNT_ONLY;
	} else if (v.effect == SHORT_WRITE) {
		len = short_length(v.short_bytes, len);
		if (len == 0) {
			v.effect = FAIL;
			v.err = ENOSPC;
		}
	}
	ssize_t ret = v.effect == FAIL ? (errno = v.err, -1) : real_copy_entry(e, out_fd, in_fd, in_off, out_off, len, flags);
	int err = errno;
	if (rec) {
		size_t written = ret > 0 ? (size_t)ret : 0;
		long long data = written > 0 ? record_copied(in_fd, source, written) : 0;
		record_start(e, OP_WRITE, t->path);
		put_field_num(&line, "fd", out_fd);
		put_field_num(&line, "offset", offset);
		put_field_num(&line, "len", (long long)written);
		put_field_num(&line, "requested", (long long)requested);
		if (written > 0)
			put_field_num(&line, "data", data);
		record_outcome(ret, err, &v);
		record_finish();
		unlock_shim(&saved);
	}
	errno = err;
	return ret;
}

ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	return do_copy(E_SENDFILE, out_fd, in_fd, offset, NULL, count, 0);
}

ssize_t sendfile64(int out_fd, int in_fd, off64_t *offset, size_t count)
{
	return do_copy(E_SENDFILE64, out_fd, in_fd, offset, NULL, count, 0);
}

/* ---- fsync, fdatasync, ftruncate ------------------------------------------- */

static int real_fd_entry(enum entry e, int fd, off_t length)
{
	switch (e) {
	case E_FSYNC:
		return REAL(fsync)(fd);
	case E_FDATASYNC:
		return REAL(fdatasync)(fd);
	case E_FTRUNCATE:
		return REAL(ftruncate)(fd, length);
	default:
		return REAL(ftruncate64)(fd, length);
	}
}

static int do_fd_op(enum entry e, enum op op, int fd, off_t length)
{
	if (!active || !peek_slot(fd))
		return real_fd_entry(e, fd, length);
	sigset_t saved;
	lock_shim(&saved);
	struct stat st;
	struct tracked_fd *t = tracked_at(fd, &st);
	if (!t) {
		unlock_shim(&saved);
		return real_fd_entry(e, fd, length);
	}
	reload_control_if_changed();
	struct verdict v = judge(op, t->path, NULL);
	bool rec = recorded(t->path);
	if (!rec)
		unlock_shim(&saved);
	int ret = v.effect == FAIL ? (errno = v.err, -1) : real_fd_entry(e, fd, length);
	int err = errno;
	if (rec) {
		record_start(e, op, t->path);
		put_field_num(&line, "fd", fd);
		if (op == OP_FTRUNCATE)
			put_field_num(&line, "length", length);
		else
			put_field_bool(&line, "dir", S_ISDIR(st.st_mode));
		record_outcome(ret, err, &v);
		record_finish();
		unlock_shim(&saved);
	}
	errno = err;
	return ret;
}

int fsync(int fd)
{
	return do_fd_op(E_FSYNC, OP_FSYNC, fd, 0);
}

int fdatasync(int fd)
{
	return do_fd_op(E_FDATASYNC, OP_FDATASYNC, fd, 0);
}

int ftruncate(int fd, off_t length)
{
	return do_fd_op(E_FTRUNCATE, OP_FTRUNCATE, fd, length);
}

int ftruncate64(int fd, off64_t length)
{
	return do_fd_op(E_FTRUNCATE64, OP_FTRUNCATE, fd, length);
}

/* ---- calls on names ------------------------------------------------------- */

struct path_call {
	enum entry entry;
	enum op op;
	char path[PATH_MAX];
	char new_path[PATH_MAX];
	bool has_new_path;
	const char *target;
	unsigned flags;
	struct verdict verdict;
	bool rec;
	sigset_t saved;
};

/* false: pass the call through untouched. Otherwise the lock is held if the
 * call is recorded, and a call to fail has errno set already. */
static bool path_call_begin(struct path_call *c, enum entry e, enum op op, int dirfd, const char *path, int new_dirfd,
			    const char *new_path)
{
	if (!active || !path || !absolute_path(dirfd, path, c->path))
		return false;
	c->has_new_path = new_path != NULL;
	if (new_path && !absolute_path(new_dirfd, new_path, c->new_path))
		return false;
	c->entry = e;
	c->op = op;
	c->target = NULL;
	c->flags = 0;
	lock_shim(&c->saved);
	reload_control_if_changed();
	c->verdict = judge(op, c->path, c->has_new_path ? c->new_path : NULL);
	c->rec = recorded(c->path) || (c->has_new_path && recorded(c->new_path));
	if (!c->rec)
		unlock_shim(&c->saved);
	if (c->verdict.effect == FAIL)
		errno = c->verdict.err;
	return true;
}

static int path_call_end(struct path_call *c, int ret)
{
	int err = errno;
	if (c->rec) {
		record_start(c->entry, c->op, c->path);
		if (c->has_new_path)
			put_field_str(&line, "newPath", c->new_path);
		if (c->target)
			put_field_str(&line, "target", c->target);
		if (c->flags)
			put_field_num(&line, "flags", c->flags);
		struct stat st;
		if (c->op == OP_MKDIR && ret == 0 && lstat(c->path, &st) == 0)
			put_field_num(&line, "mode", st.st_mode & 07777);
		record_outcome(ret, err, &c->verdict);
		record_finish();
		unlock_shim(&c->saved);
	}
	errno = err;
	return ret;
}

#define FAILED(c) ((c).verdict.effect == FAIL)

int rename(const char *from, const char *to)
{
	struct path_call c;
	if (!path_call_begin(&c, E_RENAME, OP_RENAME, AT_FDCWD, from, AT_FDCWD, to))
		return REAL(rename)(from, to);
	return path_call_end(&c, FAILED(c) ? -1 : REAL(rename)(from, to));
}

int renameat(int fromfd, const char *from, int tofd, const char *to)
{
	struct path_call c;
	if (!path_call_begin(&c, E_RENAMEAT, OP_RENAME, fromfd, from, tofd, to))
		return REAL(renameat)(fromfd, from, tofd, to);
	return path_call_end(&c, FAILED(c) ? -1 : REAL(renameat)(fromfd, from, tofd, to));
}

int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned int flags)
{
	struct path_call c;
	if (!path_call_begin(&c, E_RENAMEAT2, OP_RENAME, fromfd, from, tofd, to))
		return REAL(renameat2)(fromfd, from, tofd, to, flags);
	c.flags = flags;
	return path_call_end(&c, FAILED(c) ? -1 : REAL(renameat2)(fromfd, from, tofd, to, flags));
}

int link(const char *existing, const char *new_name)
{
	struct path_call c;
	if (!path_call_begin(&c, E_LINK, OP_LINK, AT_FDCWD, existing, AT_FDCWD, new_name))
		return REAL(link)(existing, new_name);
	return path_call_end(&c, FAILED(c) ? -1 : REAL(link)(existing, new_name));
}

int linkat(int existingfd, const char *existing, int newfd, const char *new_name, int flags)
{
	struct path_call c;
	if (!path_call_begin(&c, E_LINKAT, OP_LINK, existingfd, existing, newfd, new_name))
		return REAL(linkat)(existingfd, existing, newfd, new_name, flags);
	c.flags = (unsigned)flags;
	return path_call_end(&c, FAILED(c) ? -1 : REAL(linkat)(existingfd, existing, newfd, new_name, flags));
}

int symlink(const char *target, const char *link_path)
{
	struct path_call c;
	if (!path_call_begin(&c, E_SYMLINK, OP_SYMLINK, AT_FDCWD, link_path, AT_FDCWD, NULL))
		return REAL(symlink)(target, link_path);
	c.target = target;
	return path_call_end(&c, FAILED(c) ? -1 : REAL(symlink)(target, link_path));
}

int symlinkat(const char *target, int dirfd, const char *link_path)
{
	struct path_call c;
	if (!path_call_begin(&c, E_SYMLINKAT, OP_SYMLINK, dirfd, link_path, AT_FDCWD, NULL))
		return REAL(symlinkat)(target, dirfd, link_path);
	c.target = target;
	return path_call_end(&c, FAILED(c) ? -1 : REAL(symlinkat)(target, dirfd, link_path));
}

int unlink(const char *path)
{
	struct path_call c;
	if (!path_call_begin(&c, E_UNLINK, OP_UNLINK, AT_FDCWD, path, AT_FDCWD, NULL))
		return REAL(unlink)(path);
	return path_call_end(&c, FAILED(c) ? -1 : REAL(unlink)(path));
}

int unlinkat(int dirfd, const char *path, int flags)
{
	struct path_call c;
	enum op op = flags & AT_REMOVEDIR ? OP_RMDIR : OP_UNLINK;
	if (!path_call_begin(&c, E_UNLINKAT, op, dirfd, path, AT_FDCWD, NULL))
		return REAL(unlinkat)(dirfd, path, flags);
	return path_call_end(&c, FAILED(c) ? -1 : REAL(unlinkat)(dirfd, path, flags));
}

int rmdir(const char *path)
{
	struct path_call c;
	if (!path_call_begin(&c, E_RMDIR, OP_RMDIR, AT_FDCWD, path, AT_FDCWD, NULL))
		return REAL(rmdir)(path);
	return path_call_end(&c, FAILED(c) ? -1 : REAL(rmdir)(path));
}

int mkdir(const char *path, mode_t mode)
{
	struct path_call c;
	if (!path_call_begin(&c, E_MKDIR, OP_MKDIR, AT_FDCWD, path, AT_FDCWD, NULL))
		return REAL(mkdir)(path, mode);
	return path_call_end(&c, FAILED(c) ? -1 : REAL(mkdir)(path, mode));
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
	struct path_call c;
	if (!path_call_begin(&c, E_MKDIRAT, OP_MKDIR, dirfd, path, AT_FDCWD, NULL))
		return REAL(mkdirat)(dirfd, path, mode);
	return path_call_end(&c, FAILED(c) ? -1 : REAL(mkdirat)(dirfd, path, mode));
}

/* glibc's mkdtemp calls mkdir inside libc, out of the shim's reach (fs.mkdtemp). */
char *mkdtemp(char *template)
{
	struct path_call c;
	if (!path_call_begin(&c, E_MKDTEMP, OP_MKDIR, AT_FDCWD, template, AT_FDCWD, NULL))
		return REAL(mkdtemp)(template);
	char *made = FAILED(c) ? NULL : REAL(mkdtemp)(template);
	if (made)
		absolute_path(AT_FDCWD, made, c.path);
	path_call_end(&c, made ? 0 : -1);
	return made;
}

/* ---- syscall(): what libuv calls without a libc wrapper ----------------- */

long syscall(long number, ...)
{
	va_list ap;
	va_start(ap, number);
	long a0 = va_arg(ap, long);
	long a1 = va_arg(ap, long);
	long a2 = va_arg(ap, long);
	long a3 = va_arg(ap, long);
	long a4 = va_arg(ap, long);
	long a5 = va_arg(ap, long);
	va_end(ap);
	switch (number) {
	case SYS_close:
		/* libuv's uv__close_nocancel: every fs.close and fs.closeSync. */
		return do_close(E_SYSCALL_CLOSE, (int)a0);
	case SYS_copy_file_range:
		return do_copy(E_SYSCALL_COPY_FILE_RANGE, (int)a2, (int)a0, (off_t *)(intptr_t)a1, (off_t *)(intptr_t)a3,
			       (size_t)a4, (unsigned)a5);
	case SYS_io_uring_setup:
		/* File operations on an io_uring (UV_USE_IO_URING=1) never pass through
		 * libc: refusing the ring sends libuv back to its threadpool. */
		if (active) {
			errno = ENOSYS;
			return -1;
		}
		break;
	default:
		break;
	}
	return REAL(syscall)(number, a0, a1, a2, a3, a4, a5);
}

/* ---- start-up ------------------------------------------------------------ */

static sigset_t fork_saved_mask;

static void before_fork(void)
{
	lock_shim(&fork_saved_mask);
}

static void after_fork_in_parent(void)
{
	unlock_shim(&fork_saved_mask);
}

/* A forked child is another process: it leaves rules, counts and records to its parent. */
static void after_fork_in_child(void)
{
	active = false;
	unlock_shim(&fork_saved_mask);
}

static void copy_env_path(const char *name, char out[PATH_MAX])
{
	const char *value = getenv(name);
	if (!value || !*value)
		return;
	if (!absolute_path(AT_FDCWD, value, out)) {
		fprintf(stderr, "fs-shim: %s is too long\n", name);
		exit(125);
	}
}

static void open_record_files(void)
{
	char log_path[PATH_MAX] = "";
	char data_path[PATH_MAX] = "";
	copy_env_path("FS_SHIM_RECORD_LOG", log_path);
	if (!log_path[0])
		return;
	copy_env_path("FS_SHIM_RECORD_DATA", data_path);
	if (!data_path[0] && snprintf(data_path, sizeof data_path, "%s.data", log_path) >= (int)sizeof data_path) {
		fprintf(stderr, "fs-shim: FS_SHIM_RECORD_LOG is too long\n");
		exit(125);
	}
	strcpy(record_prefix, "/");
	copy_env_path("FS_SHIM_RECORD_PREFIX", record_prefix);
	record_prefix_len = strlen(record_prefix);
	log_fd = REAL(open)(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	data_fd = REAL(open)(data_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	struct stat st;
	if (log_fd < 0 || data_fd < 0 || fstat(data_fd, &st) != 0) {
		fprintf(stderr, "fs-shim: cannot open %s and %s: %s\n", log_path, data_path, strerror(errno));
		exit(125);
	}
	data_offset = (unsigned long long)st.st_size;
}

/* Whether this process runs the program the shim is for (FS_SHIM_EXE, a pattern
 * on the executable's name, "node" unless set): launchers in between, such as
 * strace, timeout or env, inherit LD_PRELOAD too. */
static bool runs_target_executable(void)
{
	const char *pattern = getenv("FS_SHIM_EXE");
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n < 0)
		return false;
	exe[n] = '\0';
	const char *name = strrchr(exe, '/');
	return fnmatch(pattern && *pattern ? pattern : "node", name ? name + 1 : exe, 0) == 0;
}

/* The shim acts in the first process of that program (across exec, which keeps
 * the pid), never in its descendants, so that one process owns the counts, the
 * stats and the record. */
__attribute__((constructor)) static void shim_init(void)
{
	pid_t me = getpid();
	const char *owner = getenv("FS_SHIM_OWNER_PID");
	if ((owner && strtol(owner, NULL, 10) != (long)me) || !runs_target_executable())
		return;
	char pid_text[24];
	snprintf(pid_text, sizeof pid_text, "%d", (int)me);
	setenv("FS_SHIM_OWNER_PID", pid_text, 1);
	shim_pid = me;
	copy_env_path("FS_SHIM_CONTROL", control_path);
	copy_env_path("FS_SHIM_STATS", stats_path);
	const char *faults = getenv("FS_SHIM_FAULTS");
	if (faults) {
		static char text[CONTROL_MAX + 1];
		snprintf(text, sizeof text, "%s", faults);
		int count = parse_rules(text, false, 0);
		if (count < 0) {
			fprintf(stderr, "fs-shim: FS_SHIM_FAULTS: %s\n", parse_error);
			exit(125);
		}
		env_rule_count = rule_count = count;
	}
	open_record_files();
	pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
	reload_control_if_changed();
	write_stats();
	active = true;
}
