/* rt_params.c — a program's parameters by index and by name: listing them, copying
 * values in and out, and zeroing gradient buffers. */
#include <string.h>

#include "rt.h"

static const cg_slot *param_at(const nb_program *p, int i)
{
    return p && i >= 0 && i < p->cg.n_params ? &p->cg.params[i] : NULL;
}

int nb_program_param_count(const nb_program *p)
{
    return p ? p->cg.n_params : 0;
}

int nb_program_param_index(const nb_program *p, const char *name)
{
    if (!p || !name)
        return -1;
    for (int i = 0; i < p->cg.n_params; i++)
        if (strcmp(p->cg.params[i].name, name) == 0)
            return i;
    return -1;
}

const char *nb_program_param_name(const nb_program *p, int i)
{
    const cg_slot *s = param_at(p, i);
    return s ? s->name : NULL;
}

nb_dtype nb_program_param_dtype(const nb_program *p, int i)
{
    const cg_slot *s = param_at(p, i);
    return s ? s->dtype : (nb_dtype)-1;
}

int nb_program_param_rank(const nb_program *p, int i)
{
    const cg_slot *s = param_at(p, i);
    return s ? s->rank : 0;
}

const int64_t *nb_program_param_shape(const nb_program *p, int i)
{
    const cg_slot *s = param_at(p, i);
    return s ? s->shape : NULL;
}

int64_t nb_program_param_numel(const nb_program *p, int i)
{
    const cg_slot *s = param_at(p, i);
    return s ? s->numel : 0;
}

nb_param_kind nb_program_param_kind(const nb_program *p, int i)
{
    const cg_slot *s = param_at(p, i);
    return s ? s->kind : (nb_param_kind)-1;
}

void *nb_program_param_data(nb_program *p, int i)
{
    const cg_slot *s = param_at(p, i);
    return s ? p->state->bytes + s->offset : NULL;
}

int nb_program_zero_grad(nb_program *p)
{
    if (!p)
        return -1;
    rt_error_clear(p);
    for (int i = 0; i < p->cg.n_params; i++) {
        const cg_slot *s = &p->cg.params[i];
        if (s->kind == NB_PARAM_GRAD)
            memset(p->state->bytes + s->offset, 0, (size_t)s->numel * ir_dtype_size(s->dtype));
    }
    return 0;
}

/* Finds a parameter and checks that nbytes is its size. */
static const cg_slot *param_slot(nb_program *p, const char *what, const char *name,
                                 const void *data, size_t nbytes)
{
    if (!name || !data) {
        rt_error(p, "%s: %s is NULL", what, !name ? "the name" : "the data");
        return NULL;
    }
    for (int i = 0; i < p->cg.n_params; i++) {
        const cg_slot *s = &p->cg.params[i];
        if (strcmp(s->name, name) != 0)
            continue;
        size_t size = (size_t)s->numel * ir_dtype_size(s->dtype);
        if (nbytes != size) {
            rt_error(p, "%s: parameter '%.200s' holds %zu bytes, %zu given", what, name, size,
                     nbytes);
            return NULL;
        }
        return s;
    }
    rt_error(p, "%s: the program has no parameter named '%.200s'", what, name);
    return NULL;
}

int nb_program_set_param(nb_program *p, const char *name, const void *data, size_t nbytes)
{
    if (!p)
        return -1;
    rt_error_clear(p);
    const cg_slot *s = param_slot(p, "set_param", name, data, nbytes);
    if (!s)
        return -1;
    memcpy(p->state->bytes + s->offset, data, nbytes);
    return 0;
}

int nb_program_get_param(nb_program *p, const char *name, void *data, size_t nbytes)
{
    if (!p)
        return -1;
    rt_error_clear(p);
    const cg_slot *s = param_slot(p, "get_param", name, data, nbytes);
    if (!s)
        return -1;
    memcpy(data, p->state->bytes + s->offset, nbytes);
    return 0;
}
