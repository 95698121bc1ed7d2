/* logrotate recipe: small helpers the engine's modules share: clocks, paths, sizes. */
#ifndef LR_UTIL_H
#define LR_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

uint64_t lr_now_ms(void);              /* CLOCK_MONOTONIC */
uint64_t lr_now_ns(void);
void lr_sleep_ms(unsigned ms);
bool lr_exists(const char *path);      /* lstat(2) finds it */
/* "DIR/NAME" and "A B C" concatenated; caller frees; NULL on ENOMEM. */
char *lr_join(const char *dir, const char *name);
char *lr_join3(const char *a, const char *b, const char *c);
/* "1.5 MiB" into BUF; returns BUF. */
const char *lr_human(uint64_t n, char *buf, size_t len);
/* The last component of PATH (borrowed). */
const char *lr_base_name(const char *path);
/* rename(2) that never replaces: -EEXIST when TO exists (renameat2 RENAME_NOREPLACE, or
 * link+unlink where the filesystem lacks it). */
int lr_rename_noreplace(const char *from, const char *to);
/* What to do about a failed write in a directory: "free space on its filesystem" for ENOSPC,
 * ... (static; "" when there is nothing to say). */
const char *lr_write_advice(int r);
/* Days since 1970-01-01 of the calendar date in TM (its time of day ignored). */
int64_t lr_civil_day(const struct tm *tm);

#endif
