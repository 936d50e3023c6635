/* rt_backend.c — the table of backends: each nb_backend value is one row (its name, how
 * generated code reaches the runtime kernels, compile, free), so choosing a backend is
 * a lookup and adding one (the ahead-of-time export) is a row. */
#include "rt.h"

/* Indexed by nb_backend. auto starts on libtcc's code compiled from the C a shared
 * object needs, so that cc builds the very same text in the background (rt_tier.c). */
static const rt_backend rt_backends[] = {
    [NB_BACKEND_TCC] = {"tcc", CG_RT_LINK_SYMBOLS, rt_tcc_compile, rt_tcc_free, NB_BACKEND_TCC,
                        NULL},
    [NB_BACKEND_CC] = {"cc", CG_RT_LINK_POINTERS, rt_cc_compile, rt_cc_free, NB_BACKEND_CC, NULL},
    [NB_BACKEND_AUTO] = {"auto", CG_RT_LINK_POINTERS, rt_tcc_compile_pointers, rt_tcc_free,
                         NB_BACKEND_TCC, &rt_backends[NB_BACKEND_CC]},
};

const rt_backend *rt_backend_find(nb_backend backend)
{
    /* The value comes from the user: any int, in or out of the enum's range. */
    int i = (int)backend;
    if (i < 0 || (size_t)i >= sizeof rt_backends / sizeof *rt_backends || !rt_backends[i].name)
        return NULL;
    return &rt_backends[i];
}
