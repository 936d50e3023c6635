/* nb_ox_einsum.c — the importer of ONNX's Einsum, operands taken left to right: a letter
 * repeated in one operand takes that operand's diagonal, each operand's letters are summed
 * away when they appear nowhere else, and the rest is a batched matmul [B, M, K] @
 * [B, K, N] (B: letters of both operands and the output, K: of both operands only, M and
 * N: of one operand and the output), permuted into the output's order. An ellipsis
 * stands for the same trailing-aligned dims in every term (it must then be in the
 * output). Sizes that differ between operands (numpy's broadcasting of 1s) and products
 * above nabla's rank are refused. */
#include <string.h>

#include "nb_ox.h"

#define EIN_MAX NB_MAX_RANK

/* A term: its letters, the ellipsis's dims written as the digits '0'... once expanded. */
typedef struct ein_term {
    char c[EIN_MAX + 3];
    int n;
    int ell; /* where the ellipsis is among the letters, -1 without one */
} ein_term;

/* Reads a term up to one of the stop characters into t; the end of what was read. A
 * letter may repeat in an operand's term (a diagonal), not in the output's. */
static const char *ein_term_read(nb_ox *x, const char *s, const char *stop, ein_term *t, int is_out)
{
    t->n = 0;
    t->ell = -1;
    for (; *s && !strchr(stop, *s); s++) {
        if (*s == ' ')
            continue;
        if (*s == '.') {
            if (strncmp(s, "...", 3) || t->ell >= 0) {
                nb_ox_fail(x, "a '.' that is not one ellipsis '...' in a term");
                return NULL;
            }
            t->ell = t->n;
            s += 2;
            continue;
        }
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))) {
            nb_ox_fail(x, "the equation has the character '%c'", *s);
            return NULL;
        }
        if (is_out && memchr(t->c, *s, (size_t)t->n)) {
            nb_ox_fail(x, "the letter '%c' repeated in the output", *s);
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

/* Writes the ellipsis of t as its e dims, the last e of the E the widest operand has
 * ('0' + E - e ...), so that they align from the right as numpy's do. */
static int ein_expand(nb_ox *x, ein_term *t, int e, int E)
{
    if (t->ell < 0)
        return 0;
    if (t->n + e > EIN_MAX)
        return nb_ox_fail(x, "a term of more than %d dims", EIN_MAX);
    memmove(t->c + t->ell + e, t->c + t->ell, (size_t)(t->n - t->ell));
    for (int k = 0; k < e; k++)
        t->c[t->ell + k] = (char)('0' + E - e + k);
    t->n += e;
    return 0;
}

static int has(const ein_term *t, char c)
{
    return memchr(t->c, c, (size_t)t->n) != NULL;
}

/* v (letters t) with each repeated letter's diagonal taken: the two axes moved last,
 * joined into n*n and sliced with step n+1 (n, n+1*1, ...: the elements [i, i]), the
 * letter then once, last. Differentiable through nb_permute, nb_reshape and nb_slice. */
static nb_node *diagonals(nb_graph *g, nb_node *v, ein_term *t)
{
    for (int p = 0; v && p < t->n; p++)
        for (int q = p + 1; v && q < t->n; q++) {
            if (t->c[p] != t->c[q])
                continue;
            int perm[EIN_MAX], r = 0;
            int64_t shape[EIN_MAX], start[EIN_MAX] = {0}, stop[EIN_MAX], step[EIN_MAX];
            int64_t n = nb_node_shape(v)[p];
            char c = t->c[p];
            for (int i = 0; i < t->n; i++)
                if (i != p && i != q) {
                    t->c[r] = t->c[i];
                    shape[r] = stop[r] = nb_node_shape(v)[i];
                    step[r] = 1;
                    perm[r++] = i;
                }
            perm[r] = p;
            perm[r + 1] = q;
            t->c[r] = c;
            shape[r] = n * n;
            stop[r] = n * n;
            step[r] = n + 1;
            v = nb_permute(g, v, perm, t->n);
            v = nb_slice(g, nb_reshape(g, v, r + 1, shape), start, stop, step);
            t->n = r + 1;
            p = -1; /* the letters moved: search again */
            break;
        }
    return v;
}

/* Sums v (whose letters are t) over the letters in neither `other` (may be NULL) nor
 * need, removing them from t. */
static nb_node *sum_private(nb_graph *g, nb_node *v, ein_term *t, const ein_term *other,
                            const unsigned char *need)
{
    int axes[EIN_MAX], n = 0, k = 0;
    for (int i = 0; i < t->n; i++) {
        if ((other && has(other, t->c[i])) || need[(unsigned char)t->c[i]])
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

/* a (letters *ta) contracted with b (letters tb), keeping the letters need marks: a
 * batched matmul [B, M, K] @ [B, K, N], its result's letters (B, M, N) in *ta. NULL
 * after an error (a result above nabla's rank: refused). */
static nb_node *contract(nb_ox *x, nb_node *a, ein_term *ta, nb_node *b, ein_term *tb,
                         const unsigned char *need, const int64_t *size)
{
    nb_graph *g = nb_ox_graph(x);
    a = sum_private(g, a, ta, tb, need);
    b = sum_private(g, b, tb, ta, need);
    ein_term pa = {.n = 0}, pb = {.n = 0}, tr = {.n = 0};
    int n_out = 0;
    for (int i = 0; i < ta->n; i++)
        n_out += !has(tb, ta->c[i]) || need[(unsigned char)ta->c[i]];
    for (int i = 0; i < tb->n; i++)
        n_out += !has(ta, tb->c[i]);
    if (n_out > EIN_MAX) {
        nb_ox_unsupported(x, "an intermediate product of %d dims (nabla's rank is at most %d)",
                          n_out, EIN_MAX);
        return NULL;
    }
    int64_t bsz = 1, m = 1, k = 1, n = 1, rdims[EIN_MAX];
    for (int i = 0; i < ta->n; i++) /* batch letters: in both, needed */
        if (has(tb, ta->c[i]) && need[(unsigned char)ta->c[i]]) {
            pa.c[pa.n++] = pb.c[pb.n++] = tr.c[tr.n] = ta->c[i];
            bsz *= rdims[tr.n++] = size[(unsigned char)ta->c[i]];
        }
    for (int i = 0; i < ta->n; i++) /* M: a's own */
        if (!has(tb, ta->c[i])) {
            pa.c[pa.n++] = tr.c[tr.n] = ta->c[i];
            m *= rdims[tr.n++] = size[(unsigned char)ta->c[i]];
        }
    for (int i = 0; i < ta->n; i++) /* K: in both, summed */
        if (has(tb, ta->c[i]) && !need[(unsigned char)ta->c[i]]) {
            pa.c[pa.n++] = pb.c[pb.n++] = ta->c[i];
            k *= size[(unsigned char)ta->c[i]];
        }
    for (int i = 0; i < tb->n; i++) /* N: b's own */
        if (!has(ta, tb->c[i])) {
            pb.c[pb.n++] = tr.c[tr.n] = tb->c[i];
            n *= rdims[tr.n++] = size[(unsigned char)tb->c[i]];
        }
    int64_t sa[3] = {bsz, m, k}, sb[3] = {bsz, k, n};
    a = nb_reshape(g, permute_to(g, a, ta, &pa), 3, sa);
    b = nb_reshape(g, permute_to(g, b, tb, &pb), 3, sb);
    *ta = tr;
    return nb_reshape(g, nb_matmul(g, a, b), tr.n, rdims);
}

#define EIN_OPS 8 /* operands at most */

int nb_ox_einsum(nb_ox *x)
{
    nb_graph *g = nb_ox_graph(x);
    const char *eq = nb_ox_attr_string(x, "equation", "");
    int n_ops = nb_ox_n_inputs(x);
    ein_term t[EIN_OPS], out;
    int64_t size[128] = {0}; /* of each letter */
    if (n_ops < 1 || n_ops > EIN_OPS)
        return nb_ox_unsupported(x, "Einsum of %d operands (1 to %d are supported)", n_ops,
                                 EIN_OPS);
    const char *s = eq;
    int E = 0; /* the ellipsis's dims in the widest operand */
    for (int o = 0; o < n_ops; o++) {
        if (!(s = ein_term_read(x, s, ",-", &t[o], 0)))
            return -1;
        if ((o < n_ops - 1 && *s != ',') || (o == n_ops - 1 && *s == ','))
            return nb_ox_fail(x, "the equation '%.80s' does not have %d terms", eq, n_ops);
        if (*s == ',')
            s++;
        int type = nb_ox_in_type(x, o), rank = nb_ox_in_rank(x, o);
        if (type != NB_ONNX_FLOAT && type != NB_ONNX_DOUBLE)
            return nb_ox_unsupported(x, "a non-float operand");
        if (rank < t[o].n || (t[o].ell < 0 && rank != t[o].n))
            return nb_ox_fail(x, "operand %d has rank %d; its term has %d letters", o, rank,
                              t[o].n);
        E = rank - t[o].n > E ? rank - t[o].n : E;
    }
    for (int o = 0; o < n_ops; o++)
        if (ein_expand(x, &t[o], nb_ox_in_rank(x, o) - t[o].n, E) != 0)
            return -1;
    if (!strncmp(s, "->", 2)) {
        if (!(s = ein_term_read(x, s + 2, "", &out, 1)))
            return -1;
        if (E && out.ell < 0)
            return nb_ox_unsupported(x, "an ellipsis summed away (not in the output)");
        if (ein_expand(x, &out, E, E) != 0)
            return -1;
    } else if (*s) {
        return nb_ox_fail(x, "the equation '%.80s' is malformed", eq);
    } else { /* implicit: the ellipsis, then the letters seen once in alphabetical order */
        out.n = 0;
        for (int k = 0; k < E; k++)
            out.c[out.n++] = (char)('0' + k);
        for (char c = 'A'; c <= 'z'; c++) {
            int seen = 0;
            for (int o = 0; o < n_ops; o++)
                for (int i = 0; i < t[o].n; i++)
                    seen += t[o].c[i] == c;
            if (seen == 1 && out.n == EIN_MAX)
                return nb_ox_fail(x, "an output of more than %d dims", EIN_MAX);
            if (seen == 1)
                out.c[out.n++] = c;
        }
    }
    for (int o = 0; o < n_ops; o++)
        for (int i = 0; i < t[o].n; i++) {
            int64_t d = nb_ox_in_dims(x, o)[i];
            unsigned char c = (unsigned char)t[o].c[i];
            if (size[c] && size[c] != d)
                return nb_ox_unsupported(x, "the letter '%c' has different sizes", c);
            size[c] = d;
        }
    for (int i = 0; i < out.n; i++)
        if (!size[(unsigned char)out.c[i]])
            return nb_ox_fail(x, "the output letter '%c' is in no operand", out.c[i]);
    /* left to right: each product keeps the letters of the output and of the operands
     * still to come */
    nb_node *a = diagonals(g, nb_ox_in(x, 0), &t[0]);
    for (int o = 1; a && o < n_ops; o++) {
        unsigned char need[128] = {0};
        for (int i = 0; i < out.n; i++)
            need[(unsigned char)out.c[i]] = 1;
        for (int p = o + 1; p < n_ops; p++)
            for (int i = 0; i < t[p].n; i++)
                need[(unsigned char)t[p].c[i]] = 1;
        nb_node *b = diagonals(g, nb_ox_in(x, o), &t[o]);
        a = b ? contract(x, a, &t[0], b, &t[o], need, size) : NULL;
    }
    if (!a)
        return -1;
    unsigned char need[128] = {0};
    for (int i = 0; i < out.n; i++)
        need[(unsigned char)out.c[i]] = 1;
    return nb_ox_out(x, 0, permute_to(g, sum_private(g, a, &t[0], NULL, need), &t[0], &out));
}
