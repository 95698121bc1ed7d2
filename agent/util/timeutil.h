/* Clocks and timestamps. */
#ifndef OPSAGENT_TIMEUTIL_H
#define OPSAGENT_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

uint64_t now_monotonic_usec(void);
int64_t now_realtime_usec(void);
/* "2026-11-23T17:40:01Z" (UTC) into BUF; returns BUF. */
char *format_utc(int64_t usec, char *buf, size_t size);
/* "1.2 s", "3 min 4 s", "2 h 5 min" into BUF; returns BUF. */
char *format_duration(int64_t usec, char *buf, size_t size);

#endif
