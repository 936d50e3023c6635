/* rt_cache.c — the cc backend's cache on disk: a private directory (created 0700,
 * refused when another user owns it or others can write to it), temporaries created
 * exclusively under random names, and shared objects checked before they are loaded.
 * Everything happens relative to the directory's descriptor, checked once per build,
 * so a path swapped after the check is never followed. */
#define _GNU_SOURCE /* getrandom */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rt.h"

/* The directory made for this process when there is no per-user cache location
 * (neither HOME nor XDG_CACHE_HOME set), and the process that made it: a forked child
 * makes its own, and only the maker removes it at exit. */
static char rt_cache_own_dir[RT_CACHE_PATH_MAX];
static pid_t rt_cache_own_pid;
static int rt_cache_own_registered;

/* Removes the files of this process's own directory and the directory (atexit). */
static void own_dir_remove(void)
{
    if (!rt_cache_own_dir[0] || rt_cache_own_pid != getpid())
        return;
    DIR *d = opendir(rt_cache_own_dir);
    if (d) {
        int fd = dirfd(d);
        for (struct dirent *e; (e = readdir(d));)
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                unlinkat(fd, e->d_name, 0);
        closedir(d);
    }
    rmdir(rt_cache_own_dir);
    rt_cache_own_dir[0] = 0;
}

/* A fresh private directory for this process: mkdtemp makes it 0700 under a random
 * name, so no other user can have made it first. Removed when the process exits. */
static int own_dir(char *dir, size_t size, char *err, size_t esize)
{
    if (!rt_cache_own_dir[0] || rt_cache_own_pid != getpid()) {
        const char *tmp = getenv("TMPDIR");
        char templ[RT_CACHE_PATH_MAX];
        if (!tmp || tmp[0] != '/')
            tmp = "/tmp";
        int n = snprintf(templ, sizeof templ, "%s/nabla-XXXXXX", tmp);
        if (n < 0 || (size_t)n >= sizeof templ) {
            snprintf(err, esize, "cc: the temporary directory name '%.200s' is too long", tmp);
            return -1;
        }
        if (!mkdtemp(templ)) {
            snprintf(err, esize, "cc: cannot create a private cache directory in '%.200s': %s", tmp,
                     strerror(errno));
            return -1;
        }
        memcpy(rt_cache_own_dir, templ, (size_t)n + 1);
        rt_cache_own_pid = getpid();
        if (!rt_cache_own_registered && atexit(own_dir_remove) == 0)
            rt_cache_own_registered = 1;
    }
    if (strlen(rt_cache_own_dir) >= size) {
        snprintf(err, esize, "cc: the cache directory name is too long");
        return -1;
    }
    strcpy(dir, rt_cache_own_dir);
    return 0;
}

/* Where the cache lives: $NABLA_CACHE_DIR, else $XDG_CACHE_HOME/nabla, else
 * $HOME/.cache/nabla, else a private directory of this process (never a fixed shared
 * path: anyone could have made that one first). */
static int cache_path(char *dir, size_t size, char *err, size_t esize)
{
    const char *env = getenv("NABLA_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (env && *env)
        n = snprintf(dir, size, "%s", env);
    else if (xdg && xdg[0] == '/') /* the XDG spec ignores relative paths */
        n = snprintf(dir, size, "%s/nabla", xdg);
    else if (home && *home)
        n = snprintf(dir, size, "%s/.cache/nabla", home);
    else
        return own_dir(dir, size, err, esize);
    if (n < 0 || (size_t)n >= size) {
        snprintf(err, esize, "cc: the cache directory name is too long (%d bytes)", n);
        return -1;
    }
    return 0;
}

/* 0 when the open directory fd is a directory of the effective user that nobody else
 * can write to; -1 with the reason in err. */
static int check_private(int fd, const char *path, char *err, size_t size)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, size, "cc: cannot inspect the cache directory '%.300s': %s", path,
                 strerror(errno));
        return -1;
    }
    if (st.st_uid != geteuid()) {
        snprintf(err, size,
                 "cc: refusing the cache directory '%.300s': it belongs to uid %u, not to you "
                 "(uid %u); set NABLA_CACHE_DIR to a directory of yours",
                 path, (unsigned)st.st_uid, (unsigned)geteuid());
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        snprintf(err, size,
                 "cc: refusing the cache directory '%.300s': group or others can write to it "
                 "(mode %03o); make it private (chmod 700) or set NABLA_CACHE_DIR",
                 path, (unsigned)(st.st_mode & 0777));
        return -1;
    }
    return 0;
}

/* Opens path as a directory, creating the missing components 0700 (mkdir -p). A
 * component made here, and the last one, are opened without following a symbolic
 * link and must be private; existing parents (/, /home, /tmp) may belong to others. */
static int open_dir(const char *path, char *err, size_t size)
{
    char prefix[RT_CACHE_PATH_MAX];
    size_t len = strlen(path), at = 0;
    int fd = open(path[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || len >= sizeof prefix) {
        snprintf(err, size, "cc: cannot open the cache directory '%.300s'", path);
        goto fail;
    }
    prefix[0] = 0;
    for (size_t i = 0; i < len;) {
        while (i < len && path[i] == '/')
            i++;
        size_t start = i;
        while (i < len && path[i] != '/')
            i++;
        if (i == start)
            break;
        size_t rest = i;
        while (rest < len && path[rest] == '/')
            rest++;
        int last = rest == len;
        /* prefix: the path up to and including this component, for mkdirat/openat and
         * messages; comp points at the component inside it. */
        if (at == 0 && path[0] == '/')
            prefix[at++] = '/';
        else if (at > 0 && prefix[at - 1] != '/')
            prefix[at++] = '/';
        char *comp = prefix + at;
        memcpy(comp, path + start, i - start);
        at += i - start;
        prefix[at] = 0;
        if (strcmp(comp, ".") == 0 && !last)
            continue;
        int made = mkdirat(fd, comp, 0700) == 0;
        /* The umask may have taken the owner's own bits away: give them back before
         * the directory is opened (0700 less r or x could not be). */
        if (made)
            fchmodat(fd, comp, 0700, 0);
        if (!made && errno != EEXIST) {
            snprintf(err, size, "cc: cannot create the cache directory '%.300s': %s", prefix,
                     strerror(errno));
            goto fail;
        }
        int strict = made || last;
        int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (strict ? O_NOFOLLOW : 0));
        if (next < 0) {
            /* O_DIRECTORY | O_NOFOLLOW on a link fails with ENOTDIR: say what it is. */
            int e = errno;
            struct stat st;
            int link = fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
            snprintf(err, size, "cc: cannot open the cache directory '%.300s': %s", prefix,
                     link ? "it is a symbolic link" : strerror(e));
            goto fail;
        }
        close(fd);
        fd = next;
        if (strict && check_private(fd, prefix, err, size) != 0)
            goto fail;
    }
    /* A path of slashes alone ("/") had no last component to check. */
    if (check_private(fd, path, err, size) != 0)
        goto fail;
    return fd;
fail:
    if (fd >= 0)
        close(fd);
    return -1;
}

int rt_cache_open(rt_cache *c, char *err, size_t size)
{
    c->fd = -1;
    if (cache_path(c->path, sizeof c->path, err, size) != 0)
        return -1;
    c->fd = open_dir(c->path, err, size);
    return c->fd >= 0 ? 0 : -1;
}

void rt_cache_close(rt_cache *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* 64 random bits for temporary names. Without entropy (very early boot), the time and
 * a counter: the names only need to differ, and O_EXCL catches the rest. */
static uint64_t random64(void)
{
    static unsigned long counter;
    uint64_t r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r)
        return r;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 40) ^
           (uint64_t)counter++;
}

int rt_cache_temp(const rt_cache *c, const char *stem, const char *suffix, char *name, size_t size)
{
    /* Random names: a process id is not unique across PID namespaces (containers that
     * share a home directory), so names made from it collide. */
    for (int attempt = 0; attempt < 100; attempt++) {
        int n = snprintf(name, size, "%s.%016llx%s", stem, (unsigned long long)random64(), suffix);
        if (n < 0 || (size_t)n >= size) {
            errno = ENAMETOOLONG;
            break;
        }
        int fd = openat(c->fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST)
            break;
    }
    /* No name is ours: the caller must not remove the last one tried (another
     * builder's). */
    int e = errno;
    name[0] = 0;
    errno = e;
    return -1;
}

void rt_cache_remove(const rt_cache *c, const char *name)
{
    unlinkat(c->fd, name, 0);
}

int rt_cache_publish(const rt_cache *c, const char *tmp, const char *name, char *err, size_t size)
{
    /* The linker makes its output 0777 minus the umask; the load check wants objects
     * that only their owner can write. */
    int fd = openat(c->fd, tmp, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    const char *why = NULL;
    if (fd < 0 || fstat(fd, &st) != 0)
        why = strerror(errno);
    else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
        why = "the compiler's output is not a regular file of this user";
    else if (fchmod(fd, 0700) != 0)
        why = strerror(errno);
    if (fd >= 0)
        close(fd);
    /* rename is atomic: a concurrent loader sees the old object or the new, never a
     * half-written one, and concurrent builders of one source publish equal objects. */
    if (!why && renameat(c->fd, tmp, c->fd, name) != 0)
        why = strerror(errno);
    if (why) {
        snprintf(err, size, "cc: cannot publish the object '%.300s/%.100s': %s", c->path, name,
                 why);
        return -1;
    }
    return 0;
}

/* 1 when every byte that the headers of the ELF file fd point at is inside its size:
 * dlopen maps a truncated object and dies of SIGBUS when it touches the missing pages. */
static int elf_complete(int fd, uint64_t size)
{
    ElfW(Ehdr) eh;
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_type != ET_DYN ||
        eh.e_phentsize != sizeof(ElfW(Phdr)) || eh.e_phoff > size ||
        (uint64_t)eh.e_phnum * sizeof(ElfW(Phdr)) > size - eh.e_phoff)
        return 0;
    if (eh.e_shoff &&
        (eh.e_shoff > size || (uint64_t)eh.e_shnum * eh.e_shentsize > size - eh.e_shoff))
        return 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        ElfW(Phdr) ph;
        if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) != (ssize_t)sizeof ph ||
            ph.p_offset > size || ph.p_filesz > size - ph.p_offset)
            return 0;
    }
    return 1;
}

int rt_cache_load(const rt_cache *c, const char *name, const char *key_symbol, const char *key,
                  void **handle, char *why, size_t size)
{
    *handle = NULL;
    /* O_NONBLOCK: a FIFO planted under the name must not hang the open. */
    int fd = openat(c->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(why, size, "%s", errno == ELOOP ? "it is a symbolic link" : strerror(errno));
        return -1;
    }
    struct stat st;
    int bad = 1;
    if (fstat(fd, &st) != 0)
        snprintf(why, size, "%s", strerror(errno));
    else if (!S_ISREG(st.st_mode))
        snprintf(why, size, "it is not a regular file");
    else if (st.st_uid != geteuid())
        snprintf(why, size, "it belongs to uid %u, not to you", (unsigned)st.st_uid);
    else if (st.st_mode & (S_IWGRP | S_IWOTH))
        snprintf(why, size, "group or others can write to it");
    else if (st.st_size == 0)
        snprintf(why, size, "it is empty");
    else if (!elf_complete(fd, (uint64_t)st.st_size))
        snprintf(why, size, "it is truncated or not a shared object");
    else
        bad = 0;
    close(fd);
    if (bad)
        return -1;
    /* Loaded through the checked directory's descriptor: the path names the directory
     * that was checked even if its name now points elsewhere. Only the owner (or root)
     * can change the entries of that directory, so the file loaded is the one checked
     * or an object that a concurrent build of the same user published. */
    char path[RT_CACHE_PATH_MAX];
    snprintf(path, sizeof path, "/proc/self/fd/%d/%s", c->fd, name);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(why, size, "%.300s", e ? e : "dlopen failed");
        return -1;
    }
    /* The object names the source and command it was built from: a file left by
     * another version of nabla, or copied from elsewhere, is not used. */
    const char *k = dlsym(h, key_symbol);
    if (!k || strcmp(k, key) != 0) {
        dlclose(h);
        snprintf(why, size, "it was built from another source");
        return -1;
    }
    *handle = h;
    return 1;
}
