/* tmpdir.h — temporary directories for tests. */
#ifndef TMPDIR_H
#define TMPDIR_H

/* Removes a directory and everything below it, never following a link. */
void tu_remove_dir(const char *dir);

/* cmocka group setup and teardown for tests that compile with NB_BACKEND_CC: a new
 * private directory in /tmp that NABLA_CACHE_DIR names for the whole test program,
 * removed at the end. tu_cc_cache_dir() is its path. */
int tu_cc_cache_setup(void **state);
int tu_cc_cache_teardown(void **state);
const char *tu_cc_cache_dir(void);

#endif
