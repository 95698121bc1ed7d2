/* Clocks and timestamps. */
#ifndef OPSAGENT_TIMEUTIL_H
#define OPSAGENT_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

uint64_t now_monotonic_usec(void);
int64_t now_realtime_usec(void);
/* "2026-11-23T17:40:01Z" (UTC) into BUF; returns BUF. */
char *format_utc(int64_t usec, char *buf, size_t size);
/* Parses an ISO 8601 UTC time as AWS writes them ("2016-06-18T21:29:36.000Z", fractional
 * seconds optional, "Z" or nothing after) into Unix seconds. -EINVAL for anything else. */
int parse_iso8601_utc(const char *s, int64_t *ret);
/* "1.2 s", "3 min 4 s", "2 h 5 min" into BUF; returns BUF. */
char *format_duration(int64_t usec, char *buf, size_t size);

#endif
