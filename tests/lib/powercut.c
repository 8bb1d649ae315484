/*
 * powercut.c: an LD_PRELOAD shim that simulates a power cut, for
 * tests/integration/fault_powerloss.t.
 *
 * kill -9 loses nothing the process wrote: the kernel's page cache keeps
 * every write, synced or not.  A power cut loses what was not synced.  So
 * for the files named in POWERCUT_FILES (":"-separated, as the program
 * opens them: SQLite passes absolute paths) every write, truncation and
 * size change since the file's last fsync/fdatasync is kept here, in an
 * overlay, instead of reaching the kernel.  The process itself sees its
 * writes (pread and fstat/stat read through the overlay); a sync writes
 * the overlay out, then syncs for real.  At the cut, each 512-byte piece
 * of each pending write reaches the "disk" (the real file) or not, by a
 * seeded coin: real disks reorder and tear unsynced writes.  Then the
 * process SIGKILLs itself.  What is left in the real files is what a
 * machine would find after a reboot (the test deletes the -shm, which
 * SQLite only mmaps and never syncs).
 *
 * Environment:
 *   POWERCUT_FILES=A:B      the files to treat so (up to 4)
 *   POWERCUT_SEED=N         seeds the coins (default 1)
 *   POWERCUT_KEEP=PCT       chance, in percent, that a pending piece
 *                           reaches the disk at the cut (default 50)
 *   POWERCUT_SYNCS=N        cut instead of doing the Nth sync of the files
 *                           (mid-checkpoint); SIGUSR2 cuts at any moment
 *   POWERCUT_SNAPSHOT=DIR   at the cut, first write the files as the process
 *                           saw them (what kill -9 would have left) to DIR
 *   POWERCUT_EIO=N          the Nth sync of the files and every later one
 *                           fail with EIO, writing nothing (a dying disk);
 *                           what is pending then never reaches the files
 *   POWERCUT_ENOSPC=FILE    while FILE exists, writes to the files fail
 *                           with ENOSPC, writing nothing (a disk full for
 *                           a moment)
 *
 * Each cut logs, on stderr, per file: the writes not synced, their bytes,
 * and how many bytes reached the disk and were lost.
 *
 * The calls Debian's libsqlite3 (3.40) makes on these files, checked with
 * strace and nm -D: open64, pread64, pwrite64, ftruncate64, fdatasync,
 * fstat64, stat64, close, unlink, and fcntl locks (which pass through).
 * read, write, writev and mmap on a tracked file are not simulated: the
 * shim aborts loudly rather than simulate them wrong (SQLite mmaps the db
 * only with mmap_size > 0).  Neither are dup() of a tracked descriptor
 * nor the durability of directory entries (creating, unlinking a file).
 * On x86_64, struct stat and struct stat64 are the same.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FILES 4
#define MAX_FD 4096
#define PIECE 512

struct ext { /* one write not synced yet */
	off_t off;
	size_t len;
	unsigned char *data;
};

struct file {
	char *path;
	int known; /* size and base are set (the file was opened) */
	off_t size; /* the size the process sees */
	off_t base; /* real bytes below base are current; above, zeros */
	int truncated; /* a size change is pending */
	struct ext *ext; /* in write order: later ones win */
	size_t n, cap;
};

static struct file files[MAX_FILES];
static int nfiles;
static unsigned char fd_file[MAX_FD]; /* file index + 1, or 0 */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t cut_pending;
static uint64_t rng;
static unsigned keep_pct = 50;
static long syncs_left = -1;
static long eio_left = -1; /* syncs until they fail; 0: failing */
static const char *snapshot_dir;
static const char *enospc_flag;

/* The next definition of NAME (libc's), looked up once. */
#define REAL(name)                                                             \
	static __typeof__(&name) real_##name;                                  \
	if (real_##name == NULL)                                               \
	real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

static ssize_t
sys_pread(int fd, void *buf, size_t len, off_t off)
{
	REAL(pread64);
	return real_pread64(fd, buf, len, off);
}

static ssize_t
sys_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	REAL(pwrite64);
	return real_pwrite64(fd, buf, len, off);
}

static int
sys_ftruncate(int fd, off_t len)
{
	REAL(ftruncate64);
	return real_ftruncate64(fd, len);
}

static int
sys_close(int fd)
{
	REAL(close);
	return real_close(fd);
}

static int
sys_fstat(int fd, struct stat64 *st)
{
	REAL(fstat64);
	return real_fstat64(fd, st);
}

/* Log without stdio: the cut may run in a signal handler. */
static void
say(const char *s)
{
	REAL(write);
	if (real_write(2, s, strlen(s)) < 0)
		return;
}

static void
say_num(uint64_t v)
{
	char b[24], *p = b + sizeof(b);

	*--p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	say(p);
}

static void
die(const char *what)
{
	say("powercut: ");
	say(what);
	say(" on a tracked file is not simulated; aborting\n");
	abort();
}

static uint64_t
next_rand(void) /* splitmix64 */
{
	uint64_t z = (rng += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static struct file *
tracked(int fd)
{
	if (fd < 0 || fd >= MAX_FD || fd_file[fd] == 0)
		return NULL;
	return &files[fd_file[fd] - 1];
}

static void cut(const char *why);

static void
lock(void)
{
	pthread_mutex_lock(&mu);
}

/* A SIGUSR2 that came while the overlay was busy cuts here. */
static void
unlock(void)
{
	pthread_mutex_unlock(&mu);
	if (cut_pending) {
		pthread_mutex_lock(&mu);
		cut("SIGUSR2");
	}
}

static void
on_sigusr2(int sig)
{
	(void)sig;
	cut_pending = 1;
	if (pthread_mutex_trylock(&mu) == 0)
		cut("SIGUSR2");
}

__attribute__((constructor)) static void
init(void)
{
	const char *s = getenv("POWERCUT_FILES");
	struct sigaction sa;
	char *list, *tok, *save = NULL;

	if (s == NULL || (list = strdup(s)) == NULL)
		return;
	for (tok = strtok_r(list, ":", &save); tok && nfiles < MAX_FILES;
	     tok = strtok_r(NULL, ":", &save))
		files[nfiles++].path = tok;
	rng = strtoull(
	    getenv("POWERCUT_SEED") ? getenv("POWERCUT_SEED") : "1", NULL, 10);
	if (getenv("POWERCUT_KEEP"))
		keep_pct = (unsigned)atoi(getenv("POWERCUT_KEEP"));
	if (getenv("POWERCUT_SYNCS"))
		syncs_left = atol(getenv("POWERCUT_SYNCS"));
	if (getenv("POWERCUT_EIO"))
		eio_left = atol(getenv("POWERCUT_EIO"));
	snapshot_dir = getenv("POWERCUT_SNAPSHOT");
	enospc_flag = getenv("POWERCUT_ENOSPC");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr2;
	sa.sa_flags = SA_RESTART;
	sigfillset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	say("powercut: holding unsynced writes to ");
	say(s);
	say("\n");
}

static int
file_index(const char *path)
{
	int i;

	for (i = 0; i < nfiles; i++)
		if (strcmp(files[i].path, path) == 0)
			return i;
	return -1;
}

static void
forget_writes(struct file *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->ext[i].data);
	f->n = 0;
	f->truncated = 0;
}

static int
track(const char *path, int fd)
{
	int i = path ? file_index(path) : -1;
	struct stat64 st;

	if (fd < 0 || i < 0)
		return fd;
	if (fd >= MAX_FD)
		die("an fd above MAX_FD");
	lock();
	fd_file[fd] = (unsigned char)(i + 1);
	if (!files[i].known && sys_fstat(fd, &st) == 0) {
		files[i].known = 1;
		files[i].size = files[i].base = st.st_size;
	}
	unlock();
	return fd;
}

/* The bytes the process sees: real ones below base, zeros, the overlay. */
static ssize_t
overlay_read(struct file *f, int fd, unsigned char *buf, size_t len, off_t off)
{
	size_t n, i, got = 0;
	ssize_t r;

	if (off >= f->size)
		return 0;
	n = (size_t)(f->size - off) < len ? (size_t)(f->size - off) : len;
	while (off + (off_t)got < f->base && got < n) {
		size_t want = n - got;

		if ((off_t)want > f->base - off - (off_t)got)
			want = (size_t)(f->base - off - (off_t)got);
		r = sys_pread(fd, buf + got, want, off + (off_t)got);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	memset(buf + got, 0, n - got);
	for (i = 0; i < f->n; i++) {
		struct ext *e = &f->ext[i];
		off_t lo = e->off > off ? e->off : off;
		off_t hi = e->off + (off_t)e->len;

		if (hi > off + (off_t)n)
			hi = off + (off_t)n;
		if (lo < hi)
			memcpy(buf + (lo - off), e->data + (lo - e->off),
			    (size_t)(hi - lo));
	}
	return (ssize_t)n;
}

static ssize_t
overlay_write(struct file *f, const void *buf, size_t len, off_t off)
{
	struct ext *e;

	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 256;
		struct ext *p = realloc(f->ext, cap * sizeof(*p));

		if (p == NULL)
			goto nomem;
		f->ext = p;
		f->cap = cap;
	}
	e = &f->ext[f->n];
	if ((e->data = malloc(len ? len : 1)) == NULL)
		goto nomem;
	memcpy(e->data, buf, len);
	e->off = off;
	e->len = len;
	f->n++;
	if (off + (off_t)len > f->size)
		f->size = off + (off_t)len;
	return (ssize_t)len;
nomem:
	errno = ENOMEM;
	return -1;
}

static void
overlay_truncate(struct file *f, off_t len)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		struct ext *e = &f->ext[i];

		if (e->off >= len)
			e->len = 0;
		else if (e->off + (off_t)e->len > len)
			e->len = (size_t)(len - e->off);
	}
	f->size = len;
	if (f->base > len)
		f->base = len;
	f->truncated = 1;
}

/* A sync: the overlay goes to the kernel, then to the disk for real. */
static int
overlay_flush(struct file *f, int fd)
{
	size_t i;

	if (f->truncated &&
	    (sys_ftruncate(fd, f->base) != 0 ||
		sys_ftruncate(fd, f->size) != 0))
		return -1;
	for (i = 0; i < f->n; i++) {
		struct ext *e = &f->ext[i];

		if (e->len &&
		    sys_pwrite(fd, e->data, e->len, e->off) != (ssize_t)e->len)
			return -1;
	}
	forget_writes(f);
	f->base = f->size;
	return 0;
}

/* A descriptor of the real file for the cut, whatever the program has. */
static int
reopen(const struct file *f)
{
	REAL(open64);
	return real_open64(f->path, O_RDWR | O_CLOEXEC);
}

/* What the process saw, whole, into DIR/<basename>. */
static void
snapshot(struct file *f)
{
	static unsigned char buf[65536];
	static char path[4096];
	const char *base =
	    strrchr(f->path, '/') ? strrchr(f->path, '/') + 1 : f->path;
	int in, out;
	off_t off;
	ssize_t n;

	if (strlen(snapshot_dir) + strlen(base) + 2 > sizeof(path))
		return;
	strcpy(path, snapshot_dir);
	strcat(path, "/");
	strcat(path, base);
	REAL(open64);
	out = real_open64(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0 || (in = reopen(f)) < 0)
		return;
	for (off = 0; (n = overlay_read(f, in, buf, sizeof(buf), off)) > 0;
	     off += n)
		if (sys_pwrite(out, buf, (size_t)n, off) != n)
			break;
	sys_close(in);
	sys_close(out);
}

/*
 * The power goes: each pending piece reaches the disk or not, then the
 * process dies before doing anything else.  Runs with mu held.
 */
static void
cut(const char *why)
{
	int i, fd;
	size_t j;
	off_t p;

	say("powercut: power cut (");
	say(why);
	say(")\n");
	for (i = 0; snapshot_dir && i < nfiles; i++)
		if (files[i].known)
			snapshot(&files[i]);
	for (i = 0; i < nfiles; i++) {
		struct file *f = &files[i];
		uint64_t pending = 0, kept = 0;

		if (!f->known || (fd = reopen(f)) < 0)
			continue;
		if (f->truncated && next_rand() % 100 < keep_pct &&
		    (sys_ftruncate(fd, f->base) != 0 ||
			sys_ftruncate(fd, f->size) != 0))
			say("powercut: ftruncate failed\n");
		for (j = 0; j < f->n; j++) {
			struct ext *e = &f->ext[j];

			pending += e->len;
			for (p = e->off; p < e->off + (off_t)e->len;) {
				off_t end = (p / PIECE + 1) * PIECE;

				if (end > e->off + (off_t)e->len)
					end = e->off + (off_t)e->len;
				if (next_rand() % 100 < keep_pct &&
				    sys_pwrite(fd, e->data + (p - e->off),
					(size_t)(end - p), p) == end - p)
					kept += (uint64_t)(end - p);
				p = end;
			}
		}
		say("powercut: ");
		say(f->path);
		say(": ");
		say_num(f->n);
		say(" writes not synced, ");
		say_num(pending);
		say(" bytes: ");
		say_num(kept);
		say(" reached the disk, ");
		say_num(pending - kept);
		say(" lost\n");
	}
	kill(getpid(), SIGKILL);
	_exit(137);
}

static int
do_sync(int fd, int (*real)(int))
{
	struct file *f = tracked(fd);
	int r;

	if (f == NULL)
		return real(fd);
	lock();
	if (syncs_left > 0 && --syncs_left == 0)
		cut("POWERCUT_SYNCS");
	if (eio_left == 0 || (eio_left > 0 && --eio_left == 0)) {
		unlock();
		say("powercut: sync fails with EIO (POWERCUT_EIO)\n");
		errno = EIO;
		return -1;
	}
	r = overlay_flush(f, fd) == 0 ? real(fd) : -1;
	unlock();
	return r;
}

/* The interposed calls. */

static int
do_open(const char *path, int dirfd, int flags, mode_t mode)
{
	REAL(openat64);
	if ((flags & O_TRUNC) && path && file_index(path) >= 0)
		die("O_TRUNC");
	return track(path, real_openat64(dirfd, path, flags, mode));
}

#define OPEN_MODE(flags, mode)                                                 \
	do {                                                                   \
		va_list ap;                                                    \
		if ((flags) & (O_CREAT | O_TMPFILE)) {                         \
			va_start(ap, flags);                                   \
			mode = va_arg(ap, mode_t);                             \
			va_end(ap);                                            \
		}                                                              \
	} while (0)

int
open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return do_open(path, AT_FDCWD, flags, mode);
}

int
open64(const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return do_open(path, AT_FDCWD, flags, mode);
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return do_open(path, dirfd, flags, mode);
}

int
openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	OPEN_MODE(flags, mode);
	return do_open(path, dirfd, flags, mode);
}

int
close(int fd)
{
	if (tracked(fd)) {
		lock();
		fd_file[fd] = 0;
		unlock();
	}
	return sys_close(fd);
}

/* SQLite unlinks the -wal at a clean close, after checkpointing it. */
int
unlink(const char *path)
{
	int i = file_index(path);

	REAL(unlink);
	if (i >= 0) {
		lock();
		forget_writes(&files[i]);
		files[i].known = 0;
		unlock();
	}
	return real_unlink(path);
}

ssize_t
pread64(int fd, void *buf, size_t len, off_t off)
{
	struct file *f = tracked(fd);
	ssize_t r;

	if (f == NULL)
		return sys_pread(fd, buf, len, off);
	lock();
	r = overlay_read(f, fd, buf, len, off);
	unlock();
	return r;
}

ssize_t
pread(int fd, void *buf, size_t len, off_t off)
{
	return pread64(fd, buf, len, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	struct file *f = tracked(fd);
	ssize_t r;

	if (f == NULL)
		return sys_pwrite(fd, buf, len, off);
	if (enospc_flag != NULL && access(enospc_flag, F_OK) == 0) {
		errno = ENOSPC;
		return -1;
	}
	lock();
	r = overlay_write(f, buf, len, off);
	unlock();
	return r;
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite64(fd, buf, len, off);
}

int
ftruncate64(int fd, off_t len)
{
	struct file *f = tracked(fd);

	if (f == NULL)
		return sys_ftruncate(fd, len);
	lock();
	overlay_truncate(f, len);
	unlock();
	return 0;
}

int
ftruncate(int fd, off_t len)
{
	return ftruncate64(fd, len);
}

int
fsync(int fd)
{
	REAL(fsync);
	return do_sync(fd, real_fsync);
}

int
fdatasync(int fd)
{
	REAL(fdatasync);
	return do_sync(fd, real_fdatasync);
}

int
fstat64(int fd, struct stat64 *st)
{
	struct file *f = tracked(fd);
	int r = sys_fstat(fd, st);

	if (r == 0 && f != NULL) {
		lock();
		st->st_size = f->size;
		unlock();
	}
	return r;
}

int
fstat(int fd, struct stat *st)
{
	return fstat64(fd, (struct stat64 *)st);
}

int
stat64(const char *path, struct stat64 *st)
{
	int i = file_index(path);
	int r;

	REAL(stat64);
	r = real_stat64(path, st);
	if (r == 0 && i >= 0) {
		lock();
		if (files[i].known)
			st->st_size = files[i].size;
		unlock();
	}
	return r;
}

int
stat(const char *path, struct stat *st)
{
	return stat64(path, (struct stat64 *)st);
}

ssize_t
read(int fd, void *buf, size_t len)
{
	REAL(read);
	if (tracked(fd))
		die("read()");
	return real_read(fd, buf, len);
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	REAL(write);
	if (tracked(fd))
		die("write()");
	return real_write(fd, buf, len);
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	REAL(writev);
	if (tracked(fd))
		die("writev()");
	return real_writev(fd, iov, n);
}

void *
mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	REAL(mmap64);
	if (tracked(fd))
		die("mmap()");
	return real_mmap64(addr, len, prot, flags, fd, off);
}

void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap64(addr, len, prot, flags, fd, off);
}
