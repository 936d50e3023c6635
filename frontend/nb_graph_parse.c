/* nb_graph_parse.c — the grammar of the graph text format (docs/graph-format.md): a
 * hand-written parser over the tokens of nb_graph_lex.c that rebuilds each node through the
 * builders and shape rules, names the line and column of every error, and never trusts a
 * size it has not checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb_graph_lex.h"

/* The node the file numbers id, or NULL. */
static ir_node *lookup(const nb_parser *p, int64_t id)
{
    size_t lo = 0, hi = p->n_ids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->ids[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->n_ids && p->ids[lo].id == id ? p->ids[lo].node : NULL;
}

/* "%N" naming a node defined above. */
static int read_ref(nb_parser *p, ir_node **n)
{
    size_t at = (nb_lex_skip_blank(p), p->pos);
    int64_t id;
    if (nb_lex_expect_char(p, '%', "'%' and a node number") != 0 ||
        nb_lex_read_int(p, &id, "a node number") != 0)
        return -1;
    if (!(*n = lookup(p, id)))
        return nb_lex_fail(p, at, "node %%%lld is not defined above", (long long)id);
    return 0;
}

/* Marks node n with flag in p->written; 1 when it was marked already. -1 on OOM. */
static int mark(nb_parser *p, const ir_node *n, unsigned char flag)
{
    size_t old = p->cap_written;
    if (nb_lex_grow(p, (void **)&p->written, &p->cap_written, (size_t)n->id + 1, 1) != 0)
        return -1;
    memset(p->written + old, 0, p->cap_written - old);
    int was = (p->written[n->id] & flag) != 0;
    p->written[n->id] |= flag;
    return was;
}

/* The attributes of a node line, as read. */
typedef struct node_line {
    ir_attr attr;
    char *name;
    uint64_t seen; /* keys given (NB_KEY_BIT) */
} node_line;

/* Reads "=value" of key k into l. */
static int read_attr(nb_parser *p, nb_format_key k, node_line *l)
{
    ir_attr *a = &l->attr;
    int64_t list[NB_MAX_RANK], v;
    int n;
    size_t at = (nb_lex_skip_blank(p), p->pos);
    switch (k) {
    case NB_KEY_SHAPE:
        if (nb_lex_read_list(p, a->target.shape, &a->target.rank, "a dimension") != 0)
            return -1;
        return 0;
    case NB_KEY_PERM:
        if (nb_lex_read_list(p, list, &n, "an axis") != 0)
            return -1;
        a->permute.rank = n;
        for (int i = 0; i < n; i++) {
            if (list[i] < -NB_MAX_RANK || list[i] > NB_MAX_RANK)
                return nb_lex_fail(p, at, "axis %lld is out of range", (long long)list[i]);
            a->permute.perm[i] = (int)list[i];
        }
        return 0;
    case NB_KEY_START:
    case NB_KEY_STOP:
    case NB_KEY_STEP: {
        int64_t *dst = k == NB_KEY_START  ? a->slice.start
                       : k == NB_KEY_STOP ? a->slice.stop
                                          : a->slice.step;
        if (nb_lex_read_list(p, dst, &n, "an index") != 0)
            return -1;
        if ((l->seen &
             (NB_KEY_BIT(NB_KEY_START) | NB_KEY_BIT(NB_KEY_STOP) | NB_KEY_BIT(NB_KEY_STEP))) &&
            n != a->slice.rank)
            return nb_lex_fail(p, at,
                               "expected %d entries like the other lists of the slice, got %d",
                               a->slice.rank, n);
        a->slice.rank = n;
        return 0;
    }
    case NB_KEY_AXES:
        if (nb_lex_read_list(p, list, &n, "an axis") != 0)
            return -1;
        for (int i = 0; i < n; i++) {
            if (list[i] < 0 || list[i] >= NB_MAX_RANK)
                return nb_lex_fail(p, at, "axis %lld is out of range [0, %d)", (long long)list[i],
                                   NB_MAX_RANK);
            if (a->axes & (1u << list[i]))
                return nb_lex_fail(p, at, "axis %lld is listed twice", (long long)list[i]);
            a->axes |= 1u << list[i];
        }
        return 0;
    case NB_KEY_KEEPDIM:
    case NB_KEY_TRANS_A:
    case NB_KEY_TRANS_B:
    case NB_KEY_REVERSE:
        if (nb_lex_read_int_in(p, 0, 1, &v, "a flag (0 or 1)") != 0)
            return -1;
        *(k == NB_KEY_KEEPDIM   ? &a->keepdim
          : k == NB_KEY_TRANS_A ? &a->trans_a
          : k == NB_KEY_TRANS_B ? &a->trans_b
                                : &a->reverse) = (int)v;
        return 0;
    case NB_KEY_AXIS:
        if (nb_lex_read_int_in(p, -NB_MAX_RANK, NB_MAX_RANK, &v, "an axis") != 0)
            return -1;
        a->axis = (int)v;
        return 0;
    case NB_KEY_CLASSES:
        if (nb_lex_read_int_in(p, 1, INT32_MAX, &v, "a class count") != 0)
            return -1;
        a->k = (int)v;
        return 0;
    case NB_KEY_DTYPE: return nb_lex_read_dtype(p, &a->dt);
    case NB_KEY_LO:
    case NB_KEY_SLOPE:
    case NB_KEY_ALPHA:
    case NB_KEY_EPS: return nb_lex_read_number(p, &a->f[0]);
    case NB_KEY_HI: return nb_lex_read_number(p, &a->f[1]);
    case NB_KEY_PAD_LO:
    case NB_KEY_PAD_HI: {
        if (nb_lex_read_list(p, k == NB_KEY_PAD_LO ? a->pad.lo : a->pad.hi, &n, "a pad") != 0)
            return -1;
        if ((l->seen & ((1u << NB_KEY_PAD_LO) | (1u << NB_KEY_PAD_HI))) && n != a->pad.rank)
            return nb_lex_fail(p, at, "expected %d entries like the other list of the pad, got %d",
                               a->pad.rank, n);
        a->pad.rank = n;
        return 0;
    }
    case NB_KEY_MODE: {
        size_t wn;
        const char *w = nb_lex_word(p, &wn);
        if (nb_lex_word_is(w, wn, "constant") || nb_lex_word_is(w, wn, "reflect")) {
            a->pad.reflect = nb_lex_word_is(w, wn, "reflect");
            return 0;
        }
        p->pos = at;
        return nb_lex_expected(p, "a pad mode (constant, reflect)");
    }
    case NB_KEY_VALUE: return nb_lex_read_number(p, &a->f[0]);
    case NB_KEY_KIND: {
        size_t wn;
        const char *w = nb_lex_word(p, &wn);
        for (int kind = 0; kind < 3; kind++)
            if (nb_format_kind_name(kind) && nb_lex_word_is(w, wn, nb_format_kind_name(kind))) {
                a->k = kind;
                return 0;
            }
        p->pos = at;
        return nb_lex_expected(p, "a parameter kind (model, optimizer, grad)");
    }
    case NB_KEY_VALUES: return nb_lex_read_values(p);
    case NB_KEY_KERNEL:
    case NB_KEY_STRIDE:
    case NB_KEY_DILATION:
    case NB_KEY_PADDING: {
        /* Values are checked by the op's shape rule; here only their count and range. */
        int want = k == NB_KEY_PADDING ? 4 : 2;
        if (nb_lex_read_list(p, list, &n, "a size") != 0)
            return -1;
        if (n != want)
            return nb_lex_fail(p, at, "expected %d entries, got %d", want, n);
        for (int i = 0; i < n; i++)
            if (list[i] < 0 || list[i] > INT32_MAX)
                return nb_lex_fail(p, at, "%lld is out of range [0, %d]", (long long)list[i],
                                   INT32_MAX);
        int64_t *dst = k == NB_KEY_KERNEL   ? a->window.kernel
                       : k == NB_KEY_STRIDE ? a->window.stride
                                            : a->window.dilation;
        if (k == NB_KEY_PADDING) {
            memcpy(a->window.pad_lo, list, sizeof a->window.pad_lo);
            memcpy(a->window.pad_hi, list + 2, sizeof a->window.pad_hi);
        } else
            memcpy(dst, list, 2 * sizeof *dst);
        return 0;
    }
    case NB_KEY_GROUPS:
        if (nb_lex_read_int_in(p, 1, INT32_MAX, &v, "a group count") != 0)
            return -1;
        a->window.groups = (int)v;
        return 0;
    case NB_KEY_CEIL_MODE:
    case NB_KEY_COUNT_INCLUDE_PAD:
        if (nb_lex_read_int_in(p, 0, 1, &v, "a flag (0 or 1)") != 0)
            return -1;
        *(k == NB_KEY_CEIL_MODE ? &a->window.ceil_mode : &a->window.count_include_pad) = (int)v;
        return 0;
    case NB_KEY_DIVISOR_OVERRIDE:
        if (nb_lex_read_int_in(p, 0, INT32_MAX, &v, "a divisor (0 for none)") != 0)
            return -1;
        a->window.divisor = v;
        return 0;
    case NB_KEY_SEED:
        return nb_lex_read_hex64(p, &a->random.seed, "a seed (0x and 1 to 16 hex digits)");
    case NB_KEY_OFFSET:
        if (nb_lex_read_int_in(p, 0, INT64_MAX, &v, "a counter offset") != 0)
            return -1;
        a->random.offset = v;
        return 0;
    case NB_KEY_NAME:
        free(l->name);
        l->name = NULL;
        return nb_lex_read_string(p, &l->name);
    case NB_KEY_COUNT: break;
    }
    return nb_lex_fail(p, at, "unknown attribute");
}

/* Builds the node of a line through the builders; NULL with the graph's error. */
static ir_node *build(nb_parser *p, ir_op op, nb_dtype dt, int rank, const int64_t *shape,
                      node_line *l)
{
    ir_graph *g = p->g;
    ir_node *n;
    if (op == IR_OP_INPUT || op == IR_OP_PARAM) {
        n = op == IR_OP_INPUT ? nb_input(g, l->name, dt, rank, shape)
                              : nb_param(g, l->name, dt, rank, shape);
        if (n && op == IR_OP_PARAM)
            n->attr.k = l->attr.k;
        return n;
    }
    if (op == IR_OP_CONST)
        n = nb_constant(g, dt, rank, shape, p->vals ? p->vals : (const double[1]){0});
    else
        n = ir_node_new(g, op, p->ins, (int)p->n_ins, &l->attr);
    if (n && l->name)
        n = nb_name(g, n, l->name);
    return n;
}

/* "%N = op type (operands) key=value ..." */
static int parse_node(nb_parser *p)
{
    size_t line_at = p->pos;
    int64_t id;
    if (nb_lex_expect_char(p, '%', "'%'") != 0)
        return -1;
    size_t at = p->pos;
    if (nb_lex_read_int(p, &id, "a node number") != 0)
        return -1;
    if (id <= p->last_id)
        return nb_lex_fail(p, at, "node numbers must increase: %%%lld follows %%%lld",
                           (long long)id, (long long)p->last_id);
    if (nb_lex_expect_char(p, '=', "'='") != 0)
        return -1;
    size_t wn;
    at = (nb_lex_skip_blank(p), p->pos);
    const char *w = nb_lex_word(p, &wn);
    int op = 0;
    while (op < IR_OP_COUNT && !nb_lex_word_is(w, wn, ir_op_defs[op].name))
        op++;
    if (op == IR_OP_COUNT) {
        p->pos = at;
        return nb_lex_expected(p, "an op name");
    }
    const ir_op_def *def = &ir_op_defs[op];
    nb_dtype dt = NB_F32; /* set by read_type; gcc -O3 cannot tell */
    int rank;
    int64_t shape[NB_MAX_RANK];
    size_t type_at = (nb_lex_skip_blank(p), p->pos);
    if (nb_lex_read_type(p, &dt, &rank, shape) != 0)
        return -1;
    p->n_ins = 0;
    if (def->arity != 0) {
        if (nb_lex_expect_char(p, '(', "'(' and the operands") != 0)
            return -1;
        for (;;) {
            ir_node *in;
            if (read_ref(p, &in) != 0)
                return -1;
            if (nb_lex_grow(p, (void **)&p->ins, &p->cap_ins, p->n_ins + 1, sizeof *p->ins) != 0)
                return -1;
            p->ins[p->n_ins++] = in;
            nb_lex_skip_blank(p);
            if (p->pos < p->len && p->s[p->pos] == ')') {
                if (def->arity > 0 && p->n_ins != (size_t)def->arity)
                    return nb_lex_fail(p, p->pos, "%s takes %d operands, got %zu", def->name,
                                       def->arity, p->n_ins);
                p->pos++;
                break;
            }
            if (nb_lex_expect_char(p, ',', "',' or ')'") != 0)
                return -1;
        }
    }
    node_line l = {0};
    uint64_t keys = nb_format_op_keys[op] | NB_KEY_BIT(NB_KEY_NAME);
    int rc = -1;
    p->n_vals = 0;
    while (!nb_lex_at_eol(p)) {
        at = p->pos;
        w = nb_lex_word(p, &wn);
        int k = 0;
        while (k < NB_KEY_COUNT && !nb_lex_word_is(w, wn, nb_format_key_names[k]))
            k++;
        if (k == NB_KEY_COUNT || !(keys & NB_KEY_BIT(k))) {
            p->pos = at;
            char what[NB_LEX_MSG_MAX / 2];
            size_t len = (size_t)snprintf(what, sizeof what, "an attribute of %s (", def->name);
            for (int j = 0; j < NB_KEY_COUNT && len < sizeof what; j++)
                if (keys & NB_KEY_BIT(j))
                    len += (size_t)snprintf(what + len, sizeof what - len, "%s%s",
                                            nb_format_key_names[j], j == NB_KEY_NAME ? ")" : ", ");
            nb_lex_expected(p, what);
            goto done;
        }
        if (l.seen & NB_KEY_BIT(k)) {
            nb_lex_fail(p, at, "attribute '%s' is given twice", nb_format_key_names[k]);
            goto done;
        }
        if (nb_lex_expect_char(p, '=', "'='") != 0 || read_attr(p, (nb_format_key)k, &l) != 0)
            goto done;
        l.seen |= NB_KEY_BIT(k);
    }
    for (int k = 0; k < NB_KEY_NAME; k++)
        if ((keys & NB_KEY_BIT(k)) && !(l.seen & NB_KEY_BIT(k))) {
            nb_lex_fail(p, p->pos, "expected attribute '%s' of %s", nb_format_key_names[k],
                        def->name);
            goto done;
        }
    if (op == IR_OP_CONST && nb_lex_check_values(p, type_at, dt, ir_shape_numel(rank, shape)) != 0)
        goto done;
    ir_node *n = build(p, (ir_op)op, dt, rank, shape, &l);
    if (!n) {
        nb_lex_fail(p, line_at, "%s", p->g->error ? p->g->error : "out of memory");
        goto done;
    }
    char t[IR_TYPE_STR_MAX], u[IR_TYPE_STR_MAX];
    if (n->dtype != dt || n->rank != rank ||
        memcmp(n->shape, shape, (size_t)rank * sizeof *shape)) {
        nb_lex_fail(p, type_at, "%s: the file says %s, the operands give %s", def->name,
                    ir_format_type(dt, rank, shape, t, sizeof t), ir_type_str(n, u, sizeof u));
        goto done;
    }
    if (nb_lex_grow(p, (void **)&p->ids, &p->cap_ids, p->n_ids + 1, sizeof *p->ids) != 0)
        goto done;
    p->ids[p->n_ids].id = id;
    p->ids[p->n_ids++].node = n;
    p->last_id = id;
    rc = 0;
done:
    free(l.name);
    return rc;
}

/* "output %N" */
static int parse_output(nb_parser *p)
{
    ir_node *n;
    if (read_ref(p, &n) != 0)
        return -1;
    if (nb_lex_grow(p, (void **)&p->x.outputs, &p->cap_outputs, (size_t)p->x.n_outputs + 1,
                    sizeof *p->x.outputs) != 0)
        return -1;
    p->x.outputs[p->x.n_outputs++] = n;
    return 0;
}

/* "update %P <- %V" */
static int parse_update(nb_parser *p)
{
    ir_node *param, *value;
    size_t at = (nb_lex_skip_blank(p), p->pos);
    if (read_ref(p, &param) != 0)
        return -1;
    if (param->op != IR_OP_PARAM)
        return nb_lex_fail(p, at, "expected a parameter, node %%%d is %s", param->id,
                           ir_op_defs[param->op].name);
    nb_lex_skip_blank(p);
    if (p->pos + 1 >= p->len || p->s[p->pos] != '<' || p->s[p->pos + 1] != '-')
        return nb_lex_expected(p, "'<-'");
    p->pos += 2;
    size_t vat = (nb_lex_skip_blank(p), p->pos);
    if (read_ref(p, &value) != 0)
        return -1;
    char t[IR_TYPE_STR_MAX], u[IR_TYPE_STR_MAX];
    if (value->dtype != param->dtype || !ir_same_shape(value, param))
        return nb_lex_fail(p, vat, "the parameter is %s, the value %s",
                           ir_type_str(param, t, sizeof t), ir_type_str(value, u, sizeof u));
    int was = mark(p, param, 1);
    if (was != 0)
        return was < 0 ? -1 : nb_lex_fail(p, at, "parameter %%%d is updated twice", param->id);
    if (nb_lex_grow(p, (void **)&p->x.updates, &p->cap_updates, (size_t)p->x.n_updates + 1,
                    sizeof *p->x.updates) != 0)
        return -1;
    p->x.updates[p->x.n_updates].param = param;
    p->x.updates[p->x.n_updates++].value = value;
    return 0;
}

/* "value %N = {v, ...}" */
static int parse_value(nb_parser *p)
{
    ir_node *n;
    size_t at = (nb_lex_skip_blank(p), p->pos);
    if (read_ref(p, &n) != 0)
        return -1;
    if (n->op != IR_OP_INPUT && n->op != IR_OP_PARAM)
        return nb_lex_fail(p, at, "expected an input or a parameter, node %%%d is %s", n->id,
                           ir_op_defs[n->op].name);
    if (nb_lex_expect_char(p, '=', "'='") != 0)
        return -1;
    size_t vat = (nb_lex_skip_blank(p), p->pos);
    if (nb_lex_read_values(p) != 0 || nb_lex_check_values(p, vat, n->dtype, n->numel) != 0)
        return -1;
    int was = mark(p, n, 2);
    if (was != 0)
        return was < 0 ? -1 : nb_lex_fail(p, at, "node %%%d is given values twice", n->id);
    if (nb_lex_grow(p, (void **)&p->x.values, &p->cap_values, (size_t)p->x.n_values + 1,
                    sizeof *p->x.values) != 0)
        return -1;
    double *data = ir_malloc(p->n_vals * sizeof *data);
    if (!data)
        return nb_lex_oom(p);
    memcpy(data, p->vals, p->n_vals * sizeof *data);
    p->x.values[p->x.n_values].node = n;
    p->x.values[p->x.n_values++].data = data;
    return 0;
}

/* "nabla-graph 1" */
static int parse_header(nb_parser *p)
{
    size_t m = strlen(NB_FORMAT_MAGIC);
    if (p->len < m || memcmp(p->s, NB_FORMAT_MAGIC, m) != 0 ||
        (p->len > m && p->s[m] != ' ' && p->s[m] != '\t'))
        return nb_lex_fail(p, 0, "expected the header '%s %d'", NB_FORMAT_MAGIC, NB_FORMAT_VERSION);
    p->pos = m;
    size_t at = (nb_lex_skip_blank(p), p->pos);
    int64_t v;
    if (nb_lex_read_int(p, &v, "a format version") != 0)
        return -1;
    if (v != NB_FORMAT_VERSION)
        return nb_lex_fail(p, at,
                           "version %lld of the format is not supported (this reader reads %d)",
                           (long long)v, NB_FORMAT_VERSION);
    return 0;
}

static int parse_line(nb_parser *p)
{
    if (nb_lex_at_eol(p))
        return 0;
    if (p->s[p->pos] == '%')
        return parse_node(p);
    size_t n, at = p->pos;
    const char *w = nb_lex_word(p, &n);
    if (nb_lex_word_is(w, n, "output"))
        return parse_output(p);
    if (nb_lex_word_is(w, n, "update"))
        return parse_update(p);
    if (nb_lex_word_is(w, n, "value"))
        return parse_value(p);
    p->pos = at;
    return nb_lex_expected(p, "a node ('%N = ...'), 'output', 'update' or 'value'");
}

static int parse_all(nb_parser *p)
{
    p->line = 1;
    if (parse_header(p) != 0)
        return -1;
    for (;;) {
        if (!nb_lex_at_eol(p))
            return nb_lex_expected(p, "the end of the line");
        if (p->pos >= p->len)
            break;
        p->pos++; /* the newline */
        p->line++;
        p->line_start = p->pos;
        if (parse_line(p) != 0)
            return -1;
    }
    char msg[NB_LEX_MSG_MAX];
    if (ir_verify(p->g, msg, sizeof msg) != 0)
        return nb_lex_fail(p, p->pos, "the graph fails verification: %s", msg);
    return 0;
}

nb_graph *nb_graph_parse(const char *text, size_t len, nb_graph_extras *x, char *err,
                         size_t err_size)
{
    nb_parser p = {0};
    p.s = text;
    p.len = len;
    p.err = err;
    p.err_size = err_size;
    p.last_id = -1;
    if (x)
        memset(x, 0, sizeof *x);
    if (err && err_size)
        err[0] = 0;
    if (!text && len) {
        p.line = 1;
        nb_lex_fail(&p, 0, "the text is NULL");
    } else if (!(p.g = ir_graph_new())) {
        p.line = 1;
        nb_lex_oom(&p);
    } else {
        parse_all(&p);
    }
    free(p.ids);
    free(p.vals);
    free(p.ins);
    free(p.written);
    if (p.failed) {
        nb_graph_extras_free(&p.x);
        ir_graph_free(p.g);
        return NULL;
    }
    if (x)
        *x = p.x;
    else
        nb_graph_extras_free(&p.x);
    return p.g;
}
