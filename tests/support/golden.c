/* golden.c — a small reader for the golden-value file (format in make_golden.py). */
#include "golden.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void array_free(gd_array *a)
{
    free(a->name);
    free(a->values);
    free(a->data);
}

void gd_free(gd_file *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n; i++) {
        for (int j = 0; j < f->cases[i].n; j++)
            array_free(&f->cases[i].arrays[j]);
        free(f->cases[i].arrays);
        free(f->cases[i].name);
    }
    free(f->cases);
    free(f);
}

/* Parses "<name> <dtype> <rank> <dims...> : <values...>" into a; 0 or -1. */
static int parse_array(char *line, gd_array *a)
{
    char *save = NULL;
    char *tok = strtok_r(line, " \t\n", &save);
    char *dt = strtok_r(NULL, " \t\n", &save);
    char *rk = strtok_r(NULL, " \t\n", &save);
    memset(a, 0, sizeof *a);
    if (!tok || !dt || !rk)
        return -1;
    a->name = strdup(tok);
    a->dtype = strcmp(dt, "i32") == 0 ? NB_I32 : NB_F32;
    a->rank = atoi(rk);
    if (!a->name || a->rank < 0 || a->rank > NB_MAX_RANK)
        return -1;
    a->numel = 1;
    for (int d = 0; d < a->rank; d++) {
        tok = strtok_r(NULL, " \t\n", &save);
        if (!tok)
            return -1;
        a->shape[d] = atoll(tok);
        a->numel *= a->shape[d];
    }
    tok = strtok_r(NULL, " \t\n", &save);
    if (!tok || strcmp(tok, ":") != 0 || a->numel <= 0 || a->numel > (1 << 20))
        return -1;
    a->values = calloc((size_t)a->numel, sizeof *a->values);
    a->data = calloc((size_t)a->numel, 4);
    if (!a->values || !a->data)
        return -1;
    for (int64_t i = 0; i < a->numel; i++) {
        tok = strtok_r(NULL, " \t\n", &save);
        if (!tok)
            return -1;
        a->values[i] = strtod(tok, NULL);
        if (a->dtype == NB_I32)
            ((int32_t *)a->data)[i] = (int32_t)a->values[i];
        else
            ((float *)a->data)[i] = (float)a->values[i];
    }
    return strtok_r(NULL, " \t\n", &save) ? -1 : 0;
}

gd_file *gd_load(const char *path)
{
    FILE *fp = fopen(path, "r");
    gd_file *f = calloc(1, sizeof *f);
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    gd_case *cur = NULL;
    if (!fp || !f) {
        fprintf(stderr, "golden: cannot open %s\n", path);
        goto fail;
    }
    while (getline(&line, &cap, fp) > 0) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (strncmp(line, "case ", 5) == 0) {
            gd_case *cs = realloc(f->cases, (size_t)(f->n + 1) * sizeof *cs);
            if (!cs)
                goto bad;
            f->cases = cs;
            cur = &f->cases[f->n++];
            memset(cur, 0, sizeof *cur);
            line[strcspn(line, "\n")] = 0;
            if (!(cur->name = strdup(line + 5)))
                goto bad;
            continue;
        }
        if (strncmp(line, "end", 3) == 0) {
            cur = NULL;
            continue;
        }
        if (!cur)
            goto bad;
        gd_array *as = realloc(cur->arrays, (size_t)(cur->n + 1) * sizeof *as);
        if (!as)
            goto bad;
        cur->arrays = as;
        if (parse_array(line, &cur->arrays[cur->n]) != 0) {
            array_free(&cur->arrays[cur->n]);
            goto bad;
        }
        cur->n++;
    }
    free(line);
    fclose(fp);
    return f;
bad:
    fprintf(stderr, "golden: %s:%ld: malformed line\n", path, lineno);
fail:
    free(line);
    if (fp)
        fclose(fp);
    gd_free(f);
    return NULL;
}

const gd_case *gd_case_find(const gd_file *f, const char *name)
{
    for (int i = 0; f && i < f->n; i++)
        if (strcmp(f->cases[i].name, name) == 0)
            return &f->cases[i];
    return NULL;
}

const gd_array *gd_array_find(const gd_case *c, const char *name)
{
    for (int i = 0; c && i < c->n; i++)
        if (strcmp(c->arrays[i].name, name) == 0)
            return &c->arrays[i];
    return NULL;
}
