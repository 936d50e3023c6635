/* rt_tmpfile.c — files replaced atomically (checkpoints, exported programs): written to
 * temporary files created exclusively next to their target under a recognizable name,
 * locked while their writer lives, and renamed over it; the ones a killed writer left
 * behind are found and removed without ever touching a live writer's file. */
/* flock(2) is BSD and Linux, not POSIX. */
#define _DEFAULT_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ir.h"
#include "rt_tmpfile.h"

/* Flushes directory dir, so that a rename into it is durable. 0, or an errno value. */
int rt_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int rc = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    /* Some file systems cannot sync a directory at all; that is not a failed save. */
    return rc == EINVAL || rc == ENOTSUP ? 0 : rc;
}

/* Temporary files are ".<name>.tmp-XXXXXX" next to the checkpoint <name>: hidden, and
 * recognizable, so that a later save can find the ones a killed save left behind. A
 * writer holds an flock on its temporary from creation to rename; a temporary that
 * nobody holds locked is stale. */
#define TMP_INFIX ".tmp-"
#define TMP_RANDOM 6

static const char tmp_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static int tmp_name_matches(const char *entry, const char *base)
{
    size_t nb = strlen(base), ni = strlen(TMP_INFIX);
    if (entry[0] != '.' || strncmp(entry + 1, base, nb) != 0 ||
        strncmp(entry + 1 + nb, TMP_INFIX, ni) != 0)
        return 0;
    const char *r = entry + 1 + nb + ni;
    if (strlen(r) != TMP_RANDOM)
        return 0;
    for (; *r; r++)
        if (!strchr(tmp_alphabet, *r))
            return 0;
    return 1;
}

/* Removes the stale temporaries of checkpoint base in dir: regular files (never a
 * symbolic link) of our own user that no live writer holds locked. Best effort: what
 * cannot be checked is left alone. */
void rt_tmp_remove_stale(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    int dfd = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!tmp_name_matches(e->d_name, base))
            continue;
        struct stat ls, fs;
        if (fstatat(dfd, e->d_name, &ls, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(ls.st_mode) ||
            ls.st_uid != geteuid())
            continue;
        int fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            continue;
        /* Locked: its writer is alive. Unlinked already (st_nlink 0) or replaced by
         * another file under the same name: not ours to remove. */
        if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &fs) == 0 && fs.st_nlink > 0 &&
            fs.st_dev == ls.st_dev && fs.st_ino == ls.st_ino)
            unlinkat(dfd, e->d_name, 0);
        close(fd);
    }
    closedir(d);
}

static atomic_uint tmp_counter;

/* Creates and locks a new temporary file for checkpoint base in dir, exclusively and
 * without following a symbolic link, mode 0600 when an existing file's mode is to be
 * kept (it is set just before the rename), else 0666 less the umask as for any new
 * file. Returns the descriptor and the name in *tmp (caller frees), or -1 with errno. */
int rt_tmp_create(const char *dir, const char *base, int keep_mode, char **tmp)
{
    size_t size = strlen(dir) + strlen(base) + strlen(TMP_INFIX) + TMP_RANDOM + 4;
    char *name = ir_malloc(size);
    if (!name) {
        errno = ENOMEM;
        return -1;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    ir_rng rng;
    ir_rng_seed(&rng, (uint64_t)getpid() << 32 ^ (uint64_t)now.tv_nsec ^
                          (uint64_t)now.tv_sec << 20 ^ atomic_fetch_add(&tmp_counter, 1u));
    for (int attempt = 0; attempt < 100; attempt++) {
        char random[TMP_RANDOM + 1];
        for (int i = 0; i < TMP_RANDOM; i++)
            random[i] = tmp_alphabet[ir_rng_below(&rng, sizeof tmp_alphabet - 1)];
        random[TMP_RANDOM] = '\0';
        snprintf(name, size, "%s/.%s%s%s", dir, base, TMP_INFIX, random);
        int fd =
            open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, keep_mode ? 0600 : 0666);
        if (fd < 0) {
            if (errno == EEXIST)
                continue;
            break;
        }
        /* A save that removes stale files may have seen this file between our open
         * and our lock: it holds the lock (and is about to unlink the file) or has
         * unlinked it already. Either way we start over with another name. Where
         * flock does not work at all, the file goes unlocked and is never removed. */
        struct stat st;
        int locked = flock(fd, LOCK_EX | LOCK_NB);
        if ((locked != 0 && errno == EWOULDBLOCK) ||
            (locked == 0 && fstat(fd, &st) == 0 && st.st_nlink == 0)) {
            close(fd);
            continue;
        }
        *tmp = name;
        return fd;
    }
    int saved = errno;
    free(name);
    errno = saved;
    return -1;
}

int rt_file_replace(const char *path, rt_file_writer writer, void *ctx, char *err, size_t size)
{
    char *tmp = NULL, *dir = NULL;
    FILE *f = NULL;
    int fd = -1, rc = -1;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    dir = slash ? ir_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : ir_strdup(".");
    if (!dir) {
        snprintf(err, size, "out of memory");
        return -1;
    }
    /* A regular file being replaced keeps its mode (a 0600 checkpoint stays private); a
     * symbolic link is replaced by the new file, never followed. */
    struct stat old;
    int keep_mode = lstat(path, &old) == 0 && S_ISREG(old.st_mode);
    rt_tmp_remove_stale(dir, base);
    if ((fd = rt_tmp_create(dir, base, keep_mode, &tmp)) < 0) {
        if (errno == ENOMEM)
            snprintf(err, size, "out of memory");
        else
            snprintf(err, size, "cannot create a temporary file next to it: %s", strerror(errno));
        goto done;
    }
    /* fd stays open, holding the lock, until the temporary is renamed or removed. */
    int wfd = dup(fd);
    f = wfd >= 0 ? fdopen(wfd, "wb") : NULL;
    if (!f) {
        snprintf(err, size, "%s", strerror(errno));
        if (wfd >= 0)
            close(wfd);
        goto done;
    }
    if (writer(f, ctx) != 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        snprintf(err, size, "writing the temporary file '%.300s' failed: %s", tmp, strerror(errno));
        goto done;
    }
    int closed = fclose(f);
    f = NULL;
    if (closed != 0) {
        snprintf(err, size, "closing the temporary file failed: %s", strerror(errno));
        goto done;
    }
    if (keep_mode && fchmod(fd, old.st_mode & 0777) != 0) {
        snprintf(err, size, "cannot give the new file the old one's mode %03o: %s",
                 (unsigned)(old.st_mode & 0777), strerror(errno));
        goto done;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, size, "cannot replace it with the new file: %s", strerror(errno));
        goto done;
    }
    free(tmp);
    tmp = NULL; /* it is the file now */
    int sync_errno = rt_sync_dir(dir);
    if (sync_errno != 0) {
        snprintf(err, size,
                 "the file was replaced, but syncing its directory failed (%s): the new file "
                 "may not survive a power loss",
                 strerror(sync_errno));
        goto done;
    }
    rc = 0;
done:
    if (f)
        fclose(f);
    if (tmp)
        unlink(tmp);
    if (fd >= 0)
        close(fd);
    free(tmp);
    free(dir);
    return rc;
}

/* The text and its length, for text_write. */
typedef struct rt_text {
    const char *text;
    size_t len;
} rt_text;

static int text_write(FILE *f, void *ctx)
{
    const rt_text *t = ctx;
    return fwrite(t->text, 1, t->len, f) == t->len ? 0 : -1;
}

int rt_file_replace_text(const char *path, const char *text, size_t len, char *err, size_t size)
{
    rt_text t = {text, len};
    return rt_file_replace(path, text_write, &t, err, size);
}
