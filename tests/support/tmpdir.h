/* tmpdir.h — temporary directories for tests. */
#ifndef TMPDIR_H
#define TMPDIR_H

/* Removes a directory and the plain files in it (not recursive). */
void tu_remove_dir(const char *dir);

#endif
