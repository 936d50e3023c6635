/* ir_work.c — the per-thread counters of work done by passes (ir_work_counts). */
#include "ir.h"

_Thread_local ir_work_counts ir_work;
