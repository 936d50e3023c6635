/* tmpdir.c — temporary directories for tests. */
#include <dirent.h>
#include <stdio.h>
#include <unistd.h>

#include "tmpdir.h"

void tu_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    char path[4096];
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}
