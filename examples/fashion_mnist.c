/* fashion_mnist.c — trains an MLP 784-256-128-10 (ReLU, cross-entropy, Adam) on
 * Fashion-MNIST. One compiled call per batch does forward, backward and the Adam step;
 * a second program on the same parameters evaluates the test set. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nabla.h"

#define EVAL_BATCH 1000 /* rows per evaluation run; a last partial batch is padded */

typedef struct options {
    int epochs, batch, threads;
    double lr;
    unsigned long long seed;
    const char *save, *load, *data, *write_graph;
    nb_backend backend;
    nb_denormals denormals;
} options;

static void usage(FILE *f)
{
    fprintf(f, "usage: fashion_mnist [options]\n"
               "  --epochs N     epochs to train (10)\n"
               "  --batch N      minibatch size (64)\n"
               "  --lr X         Adam learning rate (1e-3)\n"
               "  --seed N       seed of the initial weights and the shuffling (0)\n"
               "  --save PATH    write the parameters and Adam's state to PATH (safetensors)\n"
               "                 after every epoch\n"
               "  --load PATH    start from a checkpoint written by --save\n"
               "  --threads N    threads of the programs, matmul included (2)\n"
               "  --backend B    tcc (compile in milliseconds), cc (system compiler at -O3,\n"
               "                 cached; fastest steps) or auto (starts at once on tcc's\n"
               "                 code, swaps cc's in when its build ends) (auto)\n"
               "  --denormals M  flush (subnormals to zero: fast) or ieee (exact) (flush)\n"
               "  --data DIR     the Fashion-MNIST .gz files (/usr/share/datasets/fashion-mnist)\n"
               "  --write-graph PATH  write the training step as a graph file and exit\n"
               "                 (examples/fashion_mnist_step.nbg is its output)\n"
               "  --help         this text\n");
}

/* The names of --backend, indexed by nb_backend. */
static const char *const backend_names[] = {
    [NB_BACKEND_TCC] = "tcc", [NB_BACKEND_CC] = "cc", [NB_BACKEND_AUTO] = "auto"};

/* The backend named name, or -1. */
static int backend_value(const char *name)
{
    for (int i = 0; i < (int)(sizeof backend_names / sizeof *backend_names); i++)
        if (!strcmp(name, backend_names[i]))
            return i;
    return -1;
}

/* Parses a positive integer option value; exits with a message on anything else. */
static long positive(const char *opt, const char *v)
{
    char *end;
    errno = 0;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *end || n < 1 || n > 100000000) {
        fprintf(stderr, "fashion_mnist: %s needs a positive integer, got '%s'\n", opt, v ? v : "");
        exit(2);
    }
    return n;
}

static options parse(int argc, char **argv)
{
    options o = {.epochs = 10,
                 .batch = 64,
                 .threads = 2,
                 .lr = 1e-3,
                 .data = "/usr/share/datasets/fashion-mnist",
                 .backend = NB_BACKEND_AUTO,
                 .denormals = NB_DENORMALS_FLUSH};
    /* Every option but --help takes a value. */
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--epochs"))
            o.epochs = (int)positive(a, v);
        else if (!strcmp(a, "--batch"))
            o.batch = (int)positive(a, v);
        else if (!strcmp(a, "--threads"))
            o.threads = (int)positive(a, v);
        else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            o.seed = v ? strtoull(v, &end, 10) : 0;
            if (!v || errno || *end || *v == '-') {
                fprintf(stderr, "fashion_mnist: --seed needs a non-negative integer, got '%s'\n",
                        v ? v : "");
                exit(2);
            }
        } else if (!strcmp(a, "--lr")) {
            char *end;
            o.lr = v ? strtod(v, &end) : 0;
            if (!v || *end || !(o.lr > 0) || !isfinite(o.lr)) {
                fprintf(stderr, "fashion_mnist: --lr needs a positive number, got '%s'\n",
                        v ? v : "");
                exit(2);
            }
        } else if (!strcmp(a, "--save") || !strcmp(a, "--load") || !strcmp(a, "--data") ||
                   !strcmp(a, "--backend") || !strcmp(a, "--write-graph")) {
            if (!v) {
                fprintf(stderr, "fashion_mnist: %s needs a value\n", a);
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
                fprintf(stderr, "fashion_mnist: --backend is tcc, cc or auto, got '%s'\n", v);
                exit(2);
            }
        } else if (!strcmp(a, "--denormals")) {
            if (v && (!strcmp(v, "flush") || !strcmp(v, "ieee")))
                o.denormals = !strcmp(v, "ieee") ? NB_DENORMALS_IEEE : NB_DENORMALS_FLUSH;
            else {
                fprintf(stderr, "fashion_mnist: --denormals is flush or ieee, got '%s'\n",
                        v ? v : "");
                exit(2);
            }
        } else {
            fprintf(stderr, "fashion_mnist: unknown option '%s'\n", a);
            usage(stderr);
            exit(2);
        }
    }
    return o;
}

/* A dataset in memory: images [n, 784] in [0, 1] and labels [n]. */
typedef struct dataset {
    float *images;
    int32_t *labels;
    int64_t n, dim;
} dataset;

static void load_set(const char *dir, const char *prefix, dataset *d)
{
    char path[4096], err[512];
    nb_idx img, lab;
    int64_t n_lab;
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    if (nb_idx_read(path, &img, err, sizeof err) != 0 ||
        !(d->images = nb_idx_images_f32(&img, &d->n, &d->dim, err, sizeof err))) {
        fprintf(stderr, "fashion_mnist: %s\n", err);
        exit(1);
    }
    nb_idx_free(&img);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    if (nb_idx_read(path, &lab, err, sizeof err) != 0 ||
        !(d->labels = nb_idx_labels_i32(&lab, &n_lab, err, sizeof err))) {
        fprintf(stderr, "fashion_mnist: %s\n", err);
        exit(1);
    }
    nb_idx_free(&lab);
    if (n_lab != d->n || d->dim != 784) {
        fprintf(stderr, "fashion_mnist: %s: %lld images of %lld pixels, %lld labels\n", prefix,
                (long long)d->n, (long long)d->dim, (long long)n_lab);
        exit(1);
    }
    for (int64_t i = 0; i < d->n; i++)
        if (d->labels[i] < 0 || d->labels[i] > 9) {
            fprintf(stderr, "fashion_mnist: %s label %lld is %d\n", prefix, (long long)i,
                    d->labels[i]);
            exit(1);
        }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static nb_node *linear(nb_graph *g, nb_node *x, nb_node *w, nb_node *b)
{
    return nb_add(g, nb_matmul(g, x, w), b);
}

/* The model on input x: logits [rows, 10]. */
static nb_node *mlp(nb_graph *g, nb_node *x, nb_node *const *p)
{
    nb_node *h = nb_relu(g, linear(g, x, p[0], p[1]));
    h = nb_relu(g, linear(g, h, p[2], p[3]));
    return linear(g, h, p[4], p[5]);
}

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

/* Accuracy of the model on a whole dataset, EVAL_BATCH rows per run. The program's
 * input has exactly EVAL_BATCH rows, so a last batch of fewer rows (a set whose size is
 * not a multiple of EVAL_BATCH) is copied into a zero-padded buffer, and only its real
 * rows are counted: nothing is read past the images or the labels. */
static double evaluate(nb_program *eval, const dataset *d)
{
    int64_t hits = 0;
    float *pad = NULL;
    for (int64_t start = 0; start < d->n; start += EVAL_BATCH) {
        int64_t rows = d->n - start < EVAL_BATCH ? d->n - start : EVAL_BATCH;
        const float *x = d->images + start * d->dim;
        if (rows < EVAL_BATCH) {
            pad = calloc((size_t)EVAL_BATCH * (size_t)d->dim, sizeof *pad);
            if (!pad) {
                fprintf(stderr, "fashion_mnist: out of memory\n");
                exit(1);
            }
            memcpy(pad, x, (size_t)rows * (size_t)d->dim * sizeof *pad);
            x = pad;
        }
        if (nb_program_bind(eval, "eval_x", x) != 0 || nb_program_run(eval) != 0) {
            fprintf(stderr, "fashion_mnist: %s\n", nb_program_error(eval));
            exit(1);
        }
        hits += correct(nb_program_output(eval, 0), d->labels + start, rows);
    }
    free(pad);
    return (double)hits / (double)d->n;
}

int main(int argc, char **argv)
{
    options o = parse(argc, argv);
    nb_set_threads(o.threads);

    /* One graph: the training step on a batch and the evaluation on EVAL_BATCH rows. */
    static const char *names[6] = {"fc1.weight", "fc1.bias",   "fc2.weight",
                                   "fc2.bias",   "fc3.weight", "fc3.bias"};
    int64_t shapes[6][2] = {{784, 256}, {256, 0}, {256, 128}, {128, 0}, {128, 10}, {10, 0}};
    int64_t xs[2] = {o.batch, 784}, ys[1] = {o.batch}, es[2] = {EVAL_BATCH, 784};
    nb_graph *g = nb_graph_new();
    nb_node *p[6], *grads[6];
    for (int i = 0; i < 6; i++)
        p[i] = nb_param(g, names[i], NB_F32, i % 2 ? 1 : 2, shapes[i]);
    nb_node *x = nb_input(g, "x", NB_F32, 2, xs);
    nb_node *y = nb_input(g, "y", NB_I32, 1, ys);
    nb_node *lr = nb_input(g, "lr", NB_F32, 0, NULL);
    nb_node *logits = mlp(g, x, p);
    nb_node *loss = nb_cross_entropy(g, logits, y, NB_REDUCTION_MEAN);
    nb_grad(g, loss, p, 6, grads);
    nb_update updates[6 * NB_ADAM_UPDATES_PER_PARAM];
    int n_updates = nb_adam(g, lr, p, grads, 6, NULL, updates, 6 * NB_ADAM_UPDATES_PER_PARAM);
    nb_node *eval_logits = mlp(g, nb_input(g, "eval_x", NB_F32, 2, es), p);
    if (o.write_graph) {
        /* The step's outputs and updates, no values: the weights are drawn at run time. */
        nb_node *outs[] = {loss, logits};
        nb_graph_extras ex = {
            .outputs = outs, .n_outputs = 2, .updates = updates, .n_updates = n_updates};
        char err[512];
        if (nb_graph_save(g, &ex, o.write_graph, err, sizeof err) != 0) {
            fprintf(stderr, "fashion_mnist: %s\n", err);
            return 1;
        }
        nb_graph_free(g);
        return 0;
    }
    dataset train, test;
    load_set(o.data, "train", &train);
    load_set(o.data, "t10k", &test);
    if (o.batch > train.n) {
        fprintf(stderr, "fashion_mnist: --batch %d exceeds the %lld training images\n", o.batch,
                (long long)train.n);
        return 2;
    }

    nb_node *train_outs[] = {loss, logits};
    nb_compile_options train_opt = {.outputs = train_outs,
                                    .n_outputs = 2,
                                    .updates = updates,
                                    .n_updates = n_updates,
                                    .backend = o.backend,
                                    .denormals = o.denormals};
    double t0 = now();
    nb_program *step = n_updates > 0 ? nb_compile(g, &train_opt) : NULL;
    nb_compile_options eval_opt = {.outputs = &eval_logits,
                                   .n_outputs = 1,
                                   .share_state = step,
                                   .backend = o.backend,
                                   .denormals = o.denormals};
    nb_program *eval = step ? nb_compile(g, &eval_opt) : NULL;
    if (!eval) {
        fprintf(stderr, "fashion_mnist: %s\n", nb_graph_error(g));
        return 1;
    }
    nb_graph_free(g);
    double t_compiled = now();
    printf("compiled the training step and the evaluation in %.1f ms (%s backend)\n",
           (t_compiled - t0) * 1e3, backend_names[o.backend]);

    if (o.load) {
        if (nb_program_load(step, o.load) != 0) {
            fprintf(stderr, "fashion_mnist: %s\n", nb_program_error(step));
            return 1;
        }
        printf("loaded %s\n", o.load);
    } else {
        for (int i = 0; i < 6; i += 2)
            if (nb_program_init_linear(step, names[i], names[i + 1], o.seed) != 0) {
                fprintf(stderr, "fashion_mnist: %s\n", nb_program_error(step));
                return 1;
            }
    }

    /* A compiled step has a fixed batch: the last partial batch of an epoch is dropped. */
    nb_batcher *batches =
        nb_batcher_new(train.n, o.batch, o.seed, NB_BATCH_SHUFFLE | NB_BATCH_DROP_LAST);
    float *bx = malloc((size_t)o.batch * 784 * sizeof *bx);
    int32_t *by = malloc((size_t)o.batch * sizeof *by);
    if (!batches || !bx || !by) {
        fprintf(stderr, "fashion_mnist: out of memory\n");
        return 1;
    }
    float lr_value = (float)o.lr;
    nb_program_bind(step, "x", bx);
    nb_program_bind(step, "y", by);
    nb_program_bind(step, "lr", &lr_value);
    int tty = isatty(STDOUT_FILENO);
    int64_t per_epoch = nb_batcher_batches(batches);
    double test_acc = 0;
    /* With auto: whether the step's code is cc's yet (told once, when it becomes so). */
    int on_cc = o.backend != NB_BACKEND_AUTO, told_failure = 0;
    for (int epoch = 1; epoch <= o.epochs; epoch++) {
        const int64_t *idx;
        int64_t count, done = 0, hits = 0;
        double loss_sum = 0, t_start = now();
        while (nb_batcher_next(batches, &idx, &count) == 1) {
            nb_gather_rows_f32(bx, train.images, train.n, 784, idx, count);
            nb_gather_i32(by, train.labels, train.n, idx, count);
            /* Ready before the run: this run swaps cc's code in. */
            if (!on_cc && nb_program_backend(step) == NB_BACKEND_CC) {
                on_cc = 1;
                if (tty)
                    printf("\r\033[K");
                printf("cc's code runs the training step from batch %lld of epoch %d on, "
                       "%.2f s after compiling\n",
                       (long long)done + 1, epoch, now() - t_compiled);
            }
            if (nb_program_run(step) != 0) {
                fprintf(stderr, "fashion_mnist: %s\n", nb_program_error(step));
                return 1;
            }
            loss_sum += *(const float *)nb_program_output(step, 0);
            hits += correct(nb_program_output(step, 1), by, count);
            done++;
            if (tty && (done % 50 == 0 || done == per_epoch)) {
                printf("\repoch %d/%d: batch %lld/%lld, loss %.4f", epoch, o.epochs,
                       (long long)done, (long long)per_epoch, loss_sum / (double)done);
                fflush(stdout);
            } else if (!tty && done % (per_epoch / 4 + 1) == 0) {
                printf("epoch %d/%d: batch %lld/%lld, loss %.4f\n", epoch, o.epochs,
                       (long long)done, (long long)per_epoch, loss_sum / (double)done);
            }
        }
        double seconds = now() - t_start;
        if (!told_failure && nb_program_tier_error(step)) {
            told_failure = 1;
            printf("staying on tcc's code: %s\n", nb_program_tier_error(step));
        }
        test_acc = evaluate(eval, &test);
        if (tty)
            printf("\r\033[K");
        printf("epoch %d/%d: loss %.4f, train acc %.4f, test acc %.4f, %.2f s, %.0f samples/s\n",
               epoch, o.epochs, loss_sum / (double)done, (double)hits / (double)(done * o.batch),
               test_acc, seconds, (double)(done * o.batch) / seconds);
        fflush(stdout);
        if (o.save && nb_program_save(step, o.save) != 0) {
            fprintf(stderr, "fashion_mnist: %s\n", nb_program_error(step));
            return 1;
        }
    }
    if (o.epochs == 0 || o.load)
        test_acc = evaluate(eval, &test);
    printf("test accuracy: %.4f\n", test_acc);
    nb_batcher_free(batches);
    nb_program_free(eval);
    nb_program_free(step);
    free(bx);
    free(by);
    free(train.images);
    free(train.labels);
    free(test.images);
    free(test.labels);
    return 0;
}
