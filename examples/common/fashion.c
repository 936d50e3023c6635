/* fashion.c — the Fashion-MNIST examples' command line, data set and training loop. */
#include "fashion.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The names of --backend, indexed by nb_backend. */
static const char *const backend_names[] = {
    [NB_BACKEND_TCC] = "tcc", [NB_BACKEND_CC] = "cc", [NB_BACKEND_AUTO] = "auto"};

const char *fm_backend_name(nb_backend b)
{
    return (unsigned)b < sizeof backend_names / sizeof *backend_names ? backend_names[b] : "?";
}

/* The usage, with the defaults d. */
static void usage(FILE *f, const char *prog, const char *what, const fm_options *d)
{
    fprintf(f,
            "usage: %s [options]\n"
            "%s\n"
            "  --epochs N     epochs to train (%d)\n"
            "  --batch N      minibatch size (%d)\n"
            "  --lr X         Adam learning rate (%g)\n"
            "  --seed N       seed of the initial weights and the shuffling (%llu)\n"
            "  --save PATH    write the parameters and Adam's state to PATH (safetensors)\n"
            "                 after every epoch\n"
            "  --load PATH    start from a checkpoint written by --save\n"
            "  --threads N    threads of the programs, matmul included (%d)\n"
            "  --backend B    tcc (compile in milliseconds), cc (system compiler at -O3,\n"
            "                 cached; fastest steps) or auto (starts at once on tcc's\n"
            "                 code, swaps cc's in when its build ends) (%s)\n"
            "  --denormals M  flush (subnormals to zero: fast) or ieee (exact) (%s)\n"
            "  --data DIR     the Fashion-MNIST .gz files (%s)\n"
            "  --write-graph PATH  write the training step as a graph file and exit\n"
            "  --help         this text\n",
            prog, what, d->epochs, d->batch, d->lr, d->seed, d->threads,
            fm_backend_name(d->backend), d->denormals == NB_DENORMALS_IEEE ? "ieee" : "flush",
            d->data);
}

/* The backend named name, or -1. */
static int backend_value(const char *name)
{
    for (int i = 0; i < (int)(sizeof backend_names / sizeof *backend_names); i++)
        if (!strcmp(name, backend_names[i]))
            return i;
    return -1;
}

/* Parses a positive integer option value; exits with a message on anything else. */
static long positive(const char *prog, const char *opt, const char *v)
{
    char *end;
    errno = 0;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *end || n < 1 || n > 100000000) {
        fprintf(stderr, "%s: %s needs a positive integer, got '%s'\n", prog, opt, v ? v : "");
        exit(2);
    }
    return n;
}

fm_options fm_defaults(void)
{
    return (fm_options){.epochs = 10,
                        .batch = 64,
                        .threads = 2,
                        .lr = 1e-3,
                        .data = "/usr/share/datasets/fashion-mnist",
                        .backend = NB_BACKEND_AUTO,
                        .denormals = NB_DENORMALS_FLUSH};
}

fm_options fm_parse(const char *prog, const char *what, int argc, char **argv)
{
    return fm_parse_from(prog, what, fm_defaults(), argc, argv);
}

fm_options fm_parse_from(const char *prog, const char *what, fm_options defaults, int argc,
                         char **argv)
{
    fm_options o = defaults;
    /* Every option but --help takes a value. */
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            usage(stdout, prog, what, &defaults);
            exit(0);
        } else if (!strcmp(a, "--epochs"))
            o.epochs = (int)positive(prog, a, v);
        else if (!strcmp(a, "--batch"))
            o.batch = (int)positive(prog, a, v);
        else if (!strcmp(a, "--threads"))
            o.threads = (int)positive(prog, a, v);
        else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            o.seed = v ? strtoull(v, &end, 10) : 0;
            if (!v || errno || *end || *v == '-') {
                fprintf(stderr, "%s: --seed needs a non-negative integer, got '%s'\n", prog,
                        v ? v : "");
                exit(2);
            }
        } else if (!strcmp(a, "--lr")) {
            char *end;
            o.lr = v ? strtod(v, &end) : 0;
            if (!v || *end || !(o.lr > 0) || !isfinite(o.lr)) {
                fprintf(stderr, "%s: --lr needs a positive number, got '%s'\n", prog, v ? v : "");
                exit(2);
            }
        } else if (!strcmp(a, "--save") || !strcmp(a, "--load") || !strcmp(a, "--data") ||
                   !strcmp(a, "--backend") || !strcmp(a, "--write-graph")) {
            if (!v) {
                fprintf(stderr, "%s: %s needs a value\n", prog, a);
                exit(2);
            }
            if (!strcmp(a, "--save"))
                o.save = v;
            else if (!strcmp(a, "--load"))
                o.load = v;
            else if (!strcmp(a, "--data"))
                o.data = v;
            else if (!strcmp(a, "--write-graph"))
                o.write_graph = v;
            else if (backend_value(v) >= 0)
                o.backend = (nb_backend)backend_value(v);
            else {
                fprintf(stderr, "%s: --backend is tcc, cc or auto, got '%s'\n", prog, v);
                exit(2);
            }
        } else if (!strcmp(a, "--denormals")) {
            if (v && (!strcmp(v, "flush") || !strcmp(v, "ieee")))
                o.denormals = !strcmp(v, "ieee") ? NB_DENORMALS_IEEE : NB_DENORMALS_FLUSH;
            else {
                fprintf(stderr, "%s: --denormals is flush or ieee, got '%s'\n", prog, v ? v : "");
                exit(2);
            }
        } else {
            fprintf(stderr, "%s: unknown option '%s'\n", prog, a);
            usage(stderr, prog, what, &defaults);
            exit(2);
        }
    }
    return o;
}

void fm_dataset_load(const char *prog, const char *dir, const char *prefix, fm_dataset *d)
{
    char path[4096], err[512];
    nb_idx img, lab;
    int64_t n_lab;
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    if (nb_idx_read(path, &img, err, sizeof err) != 0 ||
        !(d->images = nb_idx_images_f32(&img, &d->n, &d->dim, err, sizeof err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        exit(1);
    }
    nb_idx_free(&img);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    if (nb_idx_read(path, &lab, err, sizeof err) != 0 ||
        !(d->labels = nb_idx_labels_i32(&lab, &n_lab, err, sizeof err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        exit(1);
    }
    nb_idx_free(&lab);
    if (n_lab != d->n || d->dim != 784) {
        fprintf(stderr, "%s: %s: %lld images of %lld pixels, %lld labels\n", prog, prefix,
                (long long)d->n, (long long)d->dim, (long long)n_lab);
        exit(1);
    }
    for (int64_t i = 0; i < d->n; i++)
        if (d->labels[i] < 0 || d->labels[i] > 9) {
            fprintf(stderr, "%s: %s label %lld is %d\n", prog, prefix, (long long)i, d->labels[i]);
            exit(1);
        }
}

void fm_dataset_free(fm_dataset *d)
{
    free(d->images);
    free(d->labels);
    d->images = NULL;
    d->labels = NULL;
}

double fm_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The programs the training loop drives: step (outputs 0 = loss, 1 = logits) and eval
 * (output 0 = logits of eval_batch images), sharing state. */
typedef struct programs {
    nb_program *step, *eval;
    int eval_batch;
    const char *x_name, *eval_x_name; /* the inputs the images are bound to */
    double t_compiled;                /* fm_now() when compiling ended (for the cc swap message) */
} programs;

/* Number of rows of logits [rows, 10] whose largest entry is at the label. */
static int64_t correct(const float *logits, const int32_t *labels, int64_t rows)
{
    int64_t hits = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *l = logits + r * 10;
        int best = 0;
        for (int c = 1; c < 10; c++)
            if (l[c] > l[best])
                best = c;
        hits += best == labels[r];
    }
    return hits;
}

/* Accuracy of the model on a whole dataset, eval_batch rows per run; -1 after printing
 * the error. The program's input has exactly eval_batch rows, so a last batch of fewer
 * rows (a set whose size is not a multiple of eval_batch) is copied into a zero-padded
 * buffer, and only its real rows are counted: nothing is read past the images or the
 * labels. */
static double evaluate(const char *prog, const programs *p, const fm_dataset *d)
{
    int64_t hits = 0, eb = p->eval_batch;
    float *pad = NULL;
    for (int64_t start = 0; start < d->n; start += eb) {
        int64_t rows = d->n - start < eb ? d->n - start : eb;
        const float *x = d->images + start * d->dim;
        if (rows < eb) {
            pad = calloc((size_t)eb * (size_t)d->dim, sizeof *pad);
            if (!pad) {
                fprintf(stderr, "%s: out of memory\n", prog);
                return -1;
            }
            memcpy(pad, x, (size_t)rows * (size_t)d->dim * sizeof *pad);
            x = pad;
        }
        if (nb_program_bind(p->eval, p->eval_x_name, x) != 0 || nb_program_run(p->eval) != 0) {
            fprintf(stderr, "%s: %s\n", prog, nb_program_error(p->eval));
            free(pad);
            return -1;
        }
        hits += correct(nb_program_output(p->eval, 0), d->labels + start, rows);
    }
    free(pad);
    return (double)hits / (double)d->n;
}

/* One epoch of fm_train: trains on every batch of batches, with bx and by bound to the
 * step. 0 with the mean loss and the training accuracy, or 1 after printing the error. */
static int train_epoch(const char *prog, const fm_options *o, const programs *p,
                       const fm_dataset *train, nb_batcher *batches, float *bx, int32_t *by,
                       int epoch, int *on_cc, double *loss, double *acc)
{
    const int64_t *idx;
    int64_t count, done = 0, hits = 0, per_epoch = nb_batcher_batches(batches);
    double loss_sum = 0;
    int tty = isatty(STDOUT_FILENO);
    while (nb_batcher_next(batches, &idx, &count) == 1) {
        nb_gather_rows_f32(bx, train->images, train->n, 784, idx, count);
        nb_gather_i32(by, train->labels, train->n, idx, count);
        /* Ready before the run: this run swaps cc's code in. */
        if (!*on_cc && nb_program_backend(p->step) == NB_BACKEND_CC) {
            *on_cc = 1;
            if (tty)
                printf("\r\033[K");
            printf("cc's code runs the training step from batch %lld of epoch %d on, "
                   "%.2f s after compiling\n",
                   (long long)done + 1, epoch, fm_now() - p->t_compiled);
        }
        if (nb_program_run(p->step) != 0) {
            fprintf(stderr, "%s: %s\n", prog, nb_program_error(p->step));
            return 1;
        }
        loss_sum += *(const float *)nb_program_output(p->step, 0);
        hits += correct(nb_program_output(p->step, 1), by, count);
        done++;
        if (tty && (done % 50 == 0 || done == per_epoch)) {
            printf("\repoch %d/%d: batch %lld/%lld, loss %.4f", epoch, o->epochs, (long long)done,
                   (long long)per_epoch, loss_sum / (double)done);
            fflush(stdout);
        } else if (!tty && done % (per_epoch / 4 + 1) == 0) {
            printf("epoch %d/%d: batch %lld/%lld, loss %.4f\n", epoch, o->epochs, (long long)done,
                   (long long)per_epoch, loss_sum / (double)done);
        }
    }
    if (tty)
        printf("\r\033[K");
    *loss = loss_sum / (double)done;
    *acc = (double)hits / (double)(done * o->batch);
    return 0;
}

/* fm_main's training loop; with report_before, the test accuracy before it too. */
static int train(const char *prog, const fm_options *o, const programs *p, const fm_dataset *train,
                 const fm_dataset *test, int report_before)
{
    int status = 1;
    /* A compiled step has a fixed batch: the last partial batch of an epoch is dropped. */
    nb_batcher *batches =
        nb_batcher_new(train->n, o->batch, o->seed, NB_BATCH_SHUFFLE | NB_BATCH_DROP_LAST);
    float *bx = malloc((size_t)o->batch * 784 * sizeof *bx);
    int32_t *by = malloc((size_t)o->batch * sizeof *by);
    float lr_value = (float)o->lr;
    if (!batches || !bx || !by) {
        fprintf(stderr, "%s: out of memory\n", prog);
        goto done;
    }
    if (nb_program_bind(p->step, p->x_name, bx) != 0 || nb_program_bind(p->step, "y", by) != 0 ||
        nb_program_bind(p->step, "lr", &lr_value) != 0) {
        fprintf(stderr, "%s: %s\n", prog, nb_program_error(p->step));
        goto done;
    }
    double test_acc = 0;
    if (report_before) {
        if ((test_acc = evaluate(prog, p, test)) < 0)
            goto done;
        printf("accuracy before: %.4f\n", test_acc);
        fflush(stdout);
    }
    /* With auto: whether the step's code is cc's yet (told once, when it becomes so). */
    int on_cc = o->backend != NB_BACKEND_AUTO, told_failure = 0;
    for (int epoch = 1; epoch <= o->epochs; epoch++) {
        double loss, acc, t_start = fm_now();
        if (train_epoch(prog, o, p, train, batches, bx, by, epoch, &on_cc, &loss, &acc) != 0)
            goto done;
        double seconds = fm_now() - t_start;
        if (!told_failure && nb_program_tier_error(p->step)) {
            told_failure = 1;
            printf("staying on tcc's code: %s\n", nb_program_tier_error(p->step));
        }
        if ((test_acc = evaluate(prog, p, test)) < 0)
            goto done;
        int64_t samples = nb_batcher_batches(batches) * o->batch;
        printf("epoch %d/%d: loss %.4f, train acc %.4f, test acc %.4f, %.2f s, %.0f samples/s\n",
               epoch, o->epochs, loss, acc, test_acc, seconds, (double)samples / seconds);
        fflush(stdout);
        if (o->save && nb_program_save(p->step, o->save) != 0) {
            fprintf(stderr, "%s: %s\n", prog, nb_program_error(p->step));
            goto done;
        }
    }
    if ((o->epochs == 0 || o->load) && (test_acc = evaluate(prog, p, test)) < 0)
        goto done;
    printf("%s: %.4f\n", report_before ? "accuracy after" : "test accuracy", test_acc);
    status = 0;
done:
    nb_batcher_free(batches);
    free(bx);
    free(by);
    return status;
}

/* Compiles m's step and evaluation; NULL step after printing the graph's error. */
static int compile(const char *prog, const fm_options *o, fm_model *m, programs *p)
{
    nb_node *outs[] = {m->loss, m->logits};
    nb_compile_options train_opt = {.outputs = outs,
                                    .n_outputs = 2,
                                    .updates = m->updates,
                                    .n_updates = m->n_updates,
                                    .backend = o->backend,
                                    .denormals = o->denormals};
    double t0 = fm_now();
    p->step = m->n_updates > 0 ? nb_compile(m->g, &train_opt) : NULL;
    nb_compile_options eval_opt = {.outputs = &m->eval_logits,
                                   .n_outputs = 1,
                                   .share_state = p->step,
                                   .backend = o->backend,
                                   .denormals = o->denormals};
    p->eval = p->step ? nb_compile(m->g, &eval_opt) : NULL;
    if (!p->eval) {
        fprintf(stderr, "%s: %s\n", prog, nb_graph_error(m->g));
        nb_program_free(p->step);
        p->step = NULL;
        return -1;
    }
    p->eval_batch = m->eval_batch;
    p->x_name = m->x_name ? m->x_name : "x";
    p->eval_x_name = m->eval_x_name ? m->eval_x_name : "eval_x";
    p->t_compiled = fm_now();
    printf("compiled the training step and the evaluation in %.1f ms (%s backend)\n",
           (p->t_compiled - t0) * 1e3, fm_backend_name(o->backend));
    return 0;
}

/* Gives the step's parameters the values v[0..n) (doubles, rounded to each node's
 * dtype): 0, or -1 after printing the error. */
static int set_values(const char *prog, nb_program *step, const nb_leaf_value *v, int n)
{
    for (int i = 0; i < n; i++) {
        nb_dtype dt = nb_node_dtype(v[i].node);
        int64_t numel = nb_node_numel(v[i].node);
        size_t bytes = (size_t)numel * nb_dtype_size(dt);
        void *buf = malloc(bytes ? bytes : 1);
        if (!buf) {
            fprintf(stderr, "%s: out of memory\n", prog);
            return -1;
        }
        for (int64_t j = 0; j < numel; j++) {
            double x = v[i].data[j];
            switch (dt) {
            case NB_F32: ((float *)buf)[j] = (float)x; break;
            case NB_F64: ((double *)buf)[j] = x; break;
            case NB_I32: ((int32_t *)buf)[j] = (int32_t)x; break;
            default: ((unsigned char *)buf)[j] = x != 0; break;
            }
        }
        int rc = nb_program_set_param(step, nb_node_name(v[i].node), buf, bytes);
        free(buf);
        if (rc != 0) {
            fprintf(stderr, "%s: %s\n", prog, nb_program_error(step));
            return -1;
        }
    }
    return 0;
}

int fm_main(const char *prog, const fm_options *o, fm_model *m)
{
    int status = 1;
    programs p = {0};
    fm_dataset train_set = {0}, test_set = {0};
    if (o->write_graph) {
        /* The step's outputs and updates, no values: the weights are drawn at run time. */
        nb_node *outs[] = {m->loss, m->logits};
        nb_graph_extras ex = {.outputs = outs,
                              .n_outputs = 2,
                              .updates = m->updates,
                              .n_updates = m->n_updates,
                              .values = m->values,
                              .n_values = m->n_values};
        char err[512];
        if (nb_graph_save(m->g, &ex, o->write_graph, err, sizeof err) != 0)
            fprintf(stderr, "%s: %s\n", prog, err);
        else
            status = 0;
        goto done;
    }
    fm_dataset_load(prog, o->data, "train", &train_set);
    fm_dataset_load(prog, o->data, "t10k", &test_set);
    if (o->batch > train_set.n) {
        fprintf(stderr, "%s: --batch %d exceeds the %lld training images\n", prog, o->batch,
                (long long)train_set.n);
        status = 2;
        goto done;
    }
    if (compile(prog, o, m, &p) != 0)
        goto done;
    if (o->load) {
        if (nb_program_load(p.step, o->load) != 0) {
            fprintf(stderr, "%s: %s\n", prog, nb_program_error(p.step));
            goto done;
        }
        printf("loaded %s\n", o->load);
    } else if (m->init && m->init(p.step, o->seed) != 0) {
        fprintf(stderr, "%s: %s\n", prog, nb_program_error(p.step));
        goto done;
    } else if (!m->init && set_values(prog, p.step, m->values, m->n_values) != 0)
        goto done;
    /* The values' nodes were the graph's: it goes once they are set. */
    nb_graph_free(m->g);
    m->g = NULL;
    status = train(prog, o, &p, &train_set, &test_set, m->report_before);
done:
    nb_program_free(p.eval);
    nb_program_free(p.step);
    nb_graph_free(m->g);
    m->g = NULL;
    fm_dataset_free(&train_set);
    fm_dataset_free(&test_set);
    return status;
}
