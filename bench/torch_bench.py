"""What the PyTorch baselines of bench/ share: the command line's --repeat and --threads
and the header line they print, the timing of a function the way bench/bench_util.c's
bench_time times one, and a case's line.

The scripts run as `/usr/bin/python3 bench/x_torch.py`, so this module is found in the
script's directory (sys.path[0])."""

import argparse
import time

import torch

ROUND_SECONDS = 0.2


def start(doc, threads):
    """Parses --repeat N (rounds, default 5) and --threads N (torch threads, default
    `threads`), with the first paragraph of `doc` as the description; sets torch's thread
    count and seed 0 and prints the line "torch VERSION, N threads". Gives the arguments."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=5, help="rounds (default 5)")
    p.add_argument("--threads", type=int, default=threads, help="torch threads (default %d)" % threads)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print("torch %s, %d threads" % (torch.__version__, torch.get_num_threads()))
    return args


def time_it(fn, rounds, clock=time.perf_counter):
    """Times fn() on `clock`: one call to warm up, then `rounds` rounds of as many calls as
    take about ROUND_SECONDS; (min, median) seconds per call over the rounds."""
    fn()
    calls = 1
    while True:
        t = clock()
        for _ in range(calls):
            fn()
        if clock() - t > ROUND_SECONDS / 4 or calls > 1 << 30:
            break
        calls *= 2
    calls *= 4
    per = []
    for _ in range(rounds):
        t = clock()
        for _ in range(calls):
            fn()
        per.append((clock() - t) / calls)
    per.sort()
    return per[0], per[len(per) // 2]


def report(label, times):
    """Prints a case's line: its label, min and median microseconds per call."""
    print("  %-28s min %10.2f us  median %10.2f us" % (label, times[0] * 1e6, times[1] * 1e6))
