/* nb_version.c — the version of the library, as CMake's project() wrote it. */
#include "nabla.h"

const char *nb_version(void)
{
    return NABLA_VERSION_STRING;
}
