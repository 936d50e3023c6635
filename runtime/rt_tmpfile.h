/* rt_tmpfile.h — temporary files that become a file by rename, and the cleanup of the
 * ones killed writers left (rt_tmpfile.c). */
#ifndef RT_TMPFILE_H
#define RT_TMPFILE_H

#include <stddef.h>

/* Creates and locks a new temporary file ".<base>.tmp-XXXXXX" in dir, exclusively and
 * without following a symbolic link, mode 0600 when keep_mode (the caller gives it the
 * mode to keep before the rename), else 0666 less the umask. The lock lasts as long as
 * the descriptor stays open. Returns the descriptor and the path in *tmp (caller
 * frees), or -1 with errno (ENOMEM when the path cannot be allocated). */
int rt_tmp_create(const char *dir, const char *base, int keep_mode, char **tmp);

/* Removes the stale temporaries of base in dir: regular files (never a symbolic link)
 * of this user, named as rt_tmp_create names them, that no live writer holds locked.
 * Best effort: what cannot be checked is left alone. */
void rt_tmp_remove_stale(const char *dir, const char *base);

/* Flushes directory dir, so that a rename into it is durable. 0, or an errno value. */
int rt_sync_dir(const char *dir);

/* Writes len bytes of data to the file <dir>/<base> atomically: a temporary made by
 * rt_tmp_create is written, synced and renamed over it (an existing regular file's
 * mode is kept; a symbolic link there is replaced, not followed), so the file holds
 * either its old contents or all of data. 0, or -1 with a message in err (no temporary
 * is left behind). */
int rt_file_replace(const char *dir, const char *base, const void *data, size_t len, char *err,
                    size_t size);

#endif
