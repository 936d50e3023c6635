/* rt_safetensors.h — what the checkpoint writer (rt_checkpoint.c) and reader
 * (rt_checkpoint_load.c) share: safetensors' dtype names, sizes and byte order. */
#ifndef RT_SAFETENSORS_H
#define RT_SAFETENSORS_H

#include <stddef.h>

#include "cg.h"

/* safetensors' name of one of nabla's dtypes ("F32"), or NULL. */
const char *rt_st_dtype_name(nb_dtype dt);
/* The bytes of parameter s's values. */
size_t rt_st_bytes(const cg_slot *s);
int rt_host_is_little_endian(void);
/* Reverses the bytes of each of the n elements of size elsize (big-endian hosts). */
void rt_swap_bytes(unsigned char *b, size_t n, size_t elsize);

#endif
