/* What the fuzz targets share: the libFuzzer entry points, cutting one input into the several
 * files a parser reads, and a scratch directory (on tmpfs when there is one) for the parsers
 * that read files. Built two ways: with libFuzzer's main (tests/fuzz/run), and with replay.c's
 * main, which runs every seed of the target's corpus once under `make check`. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The line that separates the parts of an input that stands for several files. */
#define FUZZ_SEP "\n@@\n"

/* Cuts DATA at each FUZZ_SEP into at most MAX parts (the last takes the rest), each a
 * NUL-terminated copy in PARTS[i] (absent parts are ""), and returns how many there were.
 * Free with fuzz_parts_free(). Aborts on ENOMEM: a fuzz target has nothing better to do. */
size_t fuzz_split(const uint8_t *data, size_t size, char **parts, size_t max);
void fuzz_parts_free(char **parts, size_t max);
/* A NUL-terminated copy of DATA (caller frees). */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* This process's scratch directory (created on first use, removed at exit). */
const char *fuzz_scratch(void);
/* Empties the scratch directory. */
void fuzz_scratch_reset(void);
/* SCRATCH/REL (REL starts with '/'), in a static buffer overwritten by the next call. */
const char *fuzz_path(const char *rel);
/* Writes LEN bytes of DATA to SCRATCH/REL, creating the directories above it. */
void fuzz_write(const char *rel, const char *data, size_t len);
void fuzz_write_str(const char *rel, const char *text);
/* Creates SCRATCH/REL and the directories above it. */
void fuzz_mkdirs(const char *rel);
/* Whether NAME can be one directory entry (not empty, ".", "..", no '/', at most 255 bytes). */
bool fuzz_valid_name(const char *name);

#endif
