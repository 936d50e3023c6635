/* rt_tmpfile.h — temporary files that become a file by rename, and the cleanup of the
 * ones killed writers left (rt_tmpfile.c). */
#ifndef RT_TMPFILE_H
#define RT_TMPFILE_H

#include <stddef.h>
#include <stdio.h>

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

/* Writes the contents of a file: 0, or -1 with errno set. */
typedef int (*rt_file_writer)(FILE *f, void *ctx);

/* Replaces the file at path atomically: a temporary made by rt_tmp_create next to it is
 * written by writer(f, ctx), synced and renamed over it (an existing regular file's mode
 * is kept; a symbolic link there is replaced, not followed), then the directory is
 * synced, so the file holds either its old contents or all of the new. 0, or -1 with
 * what failed in err ("out of memory", "cannot create a temporary file next to it: ...",
 * "writing the temporary file '...' failed: ...", "cannot replace it with the new
 * file: ...", ...; the caller names the file). No temporary is left behind. */
int rt_file_replace(const char *path, rt_file_writer writer, void *ctx, char *err, size_t size);
/* rt_file_replace of the len bytes of text. */
int rt_file_replace_text(const char *path, const char *text, size_t len, char *err, size_t size);

#endif
