/* onnx_export_run.c — the timing driver of bench/onnx_export.sh, not built with the
 * project: the script compiles it with an exported net.c (nabla export --prefix net) and
 * bench_util.c at each set of flags it measures. It runs net_run_array on one input,
 * images of pixels in [0, 1] from the generator onnx_export_torch.py repeats, timing
 * it as bench_time does (a warm-up run, then rounds of about 0.2 s) on the wall clock, or
 * with "cpu" on the process's CPU time (other processes of a shared machine count less),
 * and prints
 *     <min us> <median us> per run
 * then writes the logits, raw floats, to OUT for the PyTorch script to compare.
 *   onnx_export_run ROUNDS OUT [cpu] */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "net.h"

#if NET_N_INPUTS != 1 || NET_N_OUTPUTS != 1 || NET_STATE_SIZE != 0
#error "onnx_export_run: one input, one output and constant weights (nabla export --const)"
#endif

/* One run's operands (bench_time's argument). */
typedef struct run_args {
    const void *in[1];
    void *out[1];
    void *arena;
} run_args;

static void run(void *arg)
{
    run_args *a = arg;
    if (net_run_array(a->in, a->out, a->arena, NULL) != 0) {
        fprintf(stderr, "onnx_export_run: net_run_array failed\n");
        exit(1);
    }
}

int main(int argc, char **argv)
{
    int rounds;
    if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "cpu") != 0) ||
        bench_parse_int(argv[1], 1, BENCH_ROUNDS_MAX, &rounds) != 0) {
        fprintf(stderr, "usage: onnx_export_run ROUNDS OUT [cpu]\n");
        return 2;
    }
    clockid_t clock = argc == 4 ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC;
    static float x[NET_INPUT0_NUMEL];
    static float logits[NET_OUTPUT0_NUMEL];
    /* 64-byte aligned: a cache line (NET_ALIGN is the least). */
    static _Alignas(64) unsigned char arena[NET_ARENA_SIZE + 1];
    /* The pixels: the top bits of a 64-bit LCG, modulo 256, over 255. */
    uint64_t s = 1;
    for (size_t i = 0; i < NET_INPUT0_NUMEL; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        x[i] = (float)((s >> 40) % 256) / 255.0f;
    }
    run_args a = {.in = {x}, .out = {logits}, .arena = arena};
    double lo, med;
    bench_time(run, &a, rounds, clock, &lo, &med);
    printf("%.3f %.3f\n", lo * 1e6, med * 1e6);
    FILE *f = fopen(argv[2], "wb");
    if (!f || fwrite(logits, sizeof logits, 1, f) != 1 || fclose(f) != 0) {
        fprintf(stderr, "onnx_export_run: cannot write %s\n", argv[2]);
        return 1;
    }
    return 0;
}
