/* nb_ox_einsum.c — the importer of ONNX's Einsum for one or two operands with explicit
 * letters: each operand's letters summed away when they appear nowhere else, the rest a
 * batched matmul [B, M, K] @ [B, K, N] (B: letters of both operands and the output, K:
 * of both operands only, M and N: of one operand and the output), permuted into the
 * output's order. Ellipses, a letter repeated in one operand (diagonals), more than two
 * operands and sizes that differ between operands are refused. */
#include <string.h>

#include "nb_ox.h"

#define EIN_MAX NB_MAX_RANK

typedef struct ein_term {
    char c[EIN_MAX]; /* letters */
    int n;
} ein_term;

/* Reads letters up to one of the stop characters into t; the end of what was read. */
static const char *ein_term_read(nb_ox *x, const char *s, const char *stop, ein_term *t)
{
    t->n = 0;
    for (; *s && !strchr(stop, *s); s++) {
        if (*s == ' ')
            continue;
        if (*s == '.') {
            nb_ox_unsupported(x, "an ellipsis in the equation");
            return NULL;
        }
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))) {
            nb_ox_fail(x, "the equation has the character '%c'", *s);
            return NULL;
        }
        if (memchr(t->c, *s, (size_t)t->n)) {
            nb_ox_unsupported(x, "the letter '%c' repeated in one term (a diagonal)", *s);
            return NULL;
        }
        if (t->n == EIN_MAX) {
            nb_ox_fail(x, "a term of more than %d letters", EIN_MAX);
            return NULL;
        }
        t->c[t->n++] = *s;
    }
    return s;
}

static int has(const ein_term *t, char c)
{
    return memchr(t->c, c, (size_t)t->n) != NULL;
}

/* Sums v (whose letters are t) over the letters in neither `other` nor `out`, removing
 * them from t. */
static nb_node *sum_private(nb_graph *g, nb_node *v, ein_term *t, const ein_term *other,
                            const ein_term *out)
{
    int axes[EIN_MAX], n = 0, k = 0;
    for (int i = 0; i < t->n; i++) {
        if ((other && has(other, t->c[i])) || has(out, t->c[i]))
            t->c[k++] = t->c[i];
        else
            axes[n++] = i;
    }
    t->n = k;
    return n ? nb_sum(g, v, axes, n, 0) : v;
}

/* v (letters t) permuted into the letters of `to` (the same set). */
static nb_node *permute_to(nb_graph *g, nb_node *v, const ein_term *t, const ein_term *to)
{
    int perm[EIN_MAX], same = 1;
    for (int i = 0; i < to->n; i++) {
        perm[i] = (int)((const char *)memchr(t->c, to->c[i], (size_t)t->n) - t->c);
        same &= perm[i] == i;
    }
    return same ? v : nb_permute(g, v, perm, to->n);
}

int nb_ox_einsum(nb_ox *x)
{
    nb_graph *g = nb_ox_graph(x);
    const char *eq = nb_ox_attr_string(x, "equation", "");
    int n_ops = nb_ox_n_inputs(x);
    ein_term t[2], out;
    int64_t size[128] = {0}; /* of each letter */
    if (n_ops < 1 || n_ops > 2)
        return nb_ox_unsupported(x, "Einsum of %d operands (one or two are supported)", n_ops);
    const char *s = eq;
    for (int o = 0; o < n_ops; o++) {
        if (!(s = ein_term_read(x, s, ",-", &t[o])))
            return -1;
        if ((o < n_ops - 1 && *s != ',') || (o == n_ops - 1 && *s == ','))
            return nb_ox_fail(x, "the equation '%.80s' does not have %d terms", eq, n_ops);
        if (*s == ',')
            s++;
        int type = nb_ox_in_type(x, o);
        if (type != NB_ONNX_FLOAT && type != NB_ONNX_DOUBLE)
            return nb_ox_unsupported(x, "a non-float operand");
        if (nb_ox_in_rank(x, o) != t[o].n)
            return nb_ox_fail(x, "operand %d has rank %d; its term has %d letters", o,
                              nb_ox_in_rank(x, o), t[o].n);
        for (int i = 0; i < t[o].n; i++) {
            int64_t d = nb_ox_in_dims(x, o)[i];
            unsigned char c = (unsigned char)t[o].c[i];
            if (size[c] && size[c] != d)
                return nb_ox_unsupported(x, "the letter '%c' has different sizes", c);
            size[c] = d;
        }
    }
    if (!strncmp(s, "->", 2)) {
        if (!(s = ein_term_read(x, s + 2, "", &out)))
            return -1;
    } else if (*s) {
        return nb_ox_fail(x, "the equation '%.80s' is malformed", eq);
    } else { /* implicit output: the letters seen once, in alphabetical order */
        out.n = 0;
        for (char c = 'A'; c <= 'z'; c++) {
            int seen = 0;
            for (int o = 0; o < n_ops; o++)
                seen += has(&t[o], c);
            if (seen == 1 && out.n < EIN_MAX)
                out.c[out.n++] = c;
        }
    }
    for (int i = 0; i < out.n; i++)
        if (!size[(unsigned char)out.c[i]])
            return nb_ox_fail(x, "the output letter '%c' is in no operand", out.c[i]);
    nb_node *a = nb_ox_in(x, 0);
    if (!a)
        return -1;
    if (n_ops == 1)
        return nb_ox_out(x, 0, permute_to(g, sum_private(g, a, &t[0], NULL, &out), &t[0], &out));
    nb_node *b = nb_ox_in(x, 1);
    if (!b)
        return -1;
    a = sum_private(g, a, &t[0], &t[1], &out);
    b = sum_private(g, b, &t[1], &t[0], &out);
    /* the letters by role, and the operands permuted to [batch, M, K] and [batch, K, N] */
    ein_term ta = {.n = 0}, tb = {.n = 0}, tr = {.n = 0};
    int64_t bsz = 1, m = 1, k = 1, n = 1, rdims[EIN_MAX];
    for (int i = 0; i < t[0].n; i++)
        if (has(&t[1], t[0].c[i]) && has(&out, t[0].c[i])) {
            ta.c[ta.n++] = tb.c[tb.n++] = tr.c[tr.n] = t[0].c[i];
            bsz *= rdims[tr.n++] = size[(unsigned char)t[0].c[i]];
        }
    for (int i = 0; i < t[0].n; i++)
        if (!has(&t[1], t[0].c[i])) {
            ta.c[ta.n++] = tr.c[tr.n] = t[0].c[i];
            m *= rdims[tr.n++] = size[(unsigned char)t[0].c[i]];
        }
    for (int i = 0; i < t[0].n; i++)
        if (has(&t[1], t[0].c[i]) && !has(&out, t[0].c[i])) {
            ta.c[ta.n++] = tb.c[tb.n++] = t[0].c[i];
            k *= size[(unsigned char)t[0].c[i]];
        }
    for (int i = 0; i < t[1].n; i++)
        if (!has(&t[0], t[1].c[i])) {
            tb.c[tb.n++] = tr.c[tr.n] = t[1].c[i];
            n *= rdims[tr.n++] = size[(unsigned char)t[1].c[i]];
        }
    int64_t sa[3] = {bsz, m, k}, sb[3] = {bsz, k, n};
    a = nb_reshape(g, permute_to(g, a, &t[0], &ta), 3, sa);
    b = nb_reshape(g, permute_to(g, b, &t[1], &tb), 3, sb);
    nb_node *r = nb_reshape(g, nb_matmul(g, a, b), tr.n, rdims);
    return nb_ox_out(x, 0, permute_to(g, r, &tr, &out));
}
