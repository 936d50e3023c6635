/* fuzz.h — what the fuzz targets share: the libFuzzer entry point every target defines,
 * and a scratch file for readers that take a path. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Runs one input; returns 0 (libFuzzer's convention). A bug is a crash, a sanitizer
 * report, a leak or an abort(), never a return value. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes size bytes to a scratch file of this process (created on first use, removed at
 * exit) and returns its path; a suffix tells two files of one target apart. Aborts when
 * the file cannot be written: that is the machine, not the code under test. */
const char *fuzz_scratch(const char *suffix, const uint8_t *data, size_t size);

#endif
