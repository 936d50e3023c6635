/* files.h — whole files read and written by tests, and paths under a test directory.
 * Each fails the calling cmocka test (fail_msg) rather than return an error. */
#ifndef FILES_H
#define FILES_H

#include <stddef.h>

/* The contents of path in new memory (caller frees) with a NUL after the last byte;
 * *len its length. */
void *tu_read_file(const char *path, size_t *len);
/* Creates or truncates path and writes len bytes of data to it. */
void tu_write_file(const char *path, const void *data, size_t len);
/* A new private directory /tmp/<stem>-XXXXXX (caller frees the name; tu_remove_dir
 * removes the directory). */
char *tu_make_dir(const char *stem);
/* "<dir>/<name>" in new memory (caller frees). */
char *tu_join(const char *dir, const char *name);

#endif
