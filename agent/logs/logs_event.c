#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logs_event.h"

static const char replacement[] = "\xef\xbf\xbd";   /* U+FFFD */

/* How many bytes after LEAD a valid sequence has (0: LEAD is not a lead byte), and the range
 * the first of them must be in (the rest are 80..BF). */
static int utf8_need(unsigned char lead, unsigned char *lo, unsigned char *hi)
{
        *lo = 0x80;
        *hi = 0xbf;
        if (lead >= 0xc2 && lead <= 0xdf)
                return 1;
        if (lead == 0xe0)
                *lo = 0xa0;
        else if (lead == 0xed)
                *hi = 0x9f;
        if (lead >= 0xe0 && lead <= 0xef)
                return 2;
        if (lead == 0xf0)
                *lo = 0x90;
        else if (lead == 0xf4)
                *hi = 0x8f;
        if (lead >= 0xf0 && lead <= 0xf4)
                return 3;
        return 0;
}

size_t logs_utf8_valid_prefix(const char *s, size_t len)
{
        const unsigned char *u = (const unsigned char *)s;
        size_t i = 0;

        while (i < len) {
                unsigned char lo, hi;
                size_t j;
                int need, k;

                /* ASCII, a word at a time */
                while (i + 8 <= len) {
                        uint64_t w;

                        memcpy(&w, u + i, 8);
                        if (w & 0x8080808080808080ULL)
                                break;
                        i += 8;
                }
                if (i >= len)
                        break;
                if (u[i] < 0x80) {
                        i++;
                        continue;
                }
                need = utf8_need(u[i], &lo, &hi);
                if (need == 0)
                        return i;
                j = i + 1;
                for (k = 0; k < need; k++, j++) {
                        unsigned char l = k == 0 ? lo : 0x80, h = k == 0 ? hi : 0xbf;

                        if (j >= len || u[j] < l || u[j] > h)
                                return i;
                }
                i = j;
        }
        return len;
}

int logs_utf8_repair(const char *s, size_t len, struct buf *out)
{
        const unsigned char *u = (const unsigned char *)s;
        size_t i = 0, run = 0;   /* s[run..i) is valid and not yet appended */
        int r;

        while (i < len) {
                unsigned char lo, hi;
                size_t j;
                int need, k;

                if (u[i] < 0x80) {
                        i++;
                        continue;
                }
                need = utf8_need(u[i], &lo, &hi);
                j = i + 1;
                for (k = 0; k < need; k++, j++) {
                        unsigned char l = k == 0 ? lo : 0x80, h = k == 0 ? hi : 0xbf;

                        if (j >= len || u[j] < l || u[j] > h)
                                break;
                }
                if (need > 0 && k == need) {
                        i = j;
                        continue;
                }
                /* s[i..j) is the maximal subpart of an invalid sequence: one U+FFFD. */
                r = buf_append(out, s + run, i - run);
                if (r < 0)
                        return r;
                r = buf_append(out, replacement, 3);
                if (r < 0)
                        return r;
                i = j;
                run = i;
        }
        return buf_append(out, s + run, i - run);
}

size_t logs_utf8_cut(const char *s, size_t len, size_t max)
{
        size_t n;

        if (len <= max)
                return len;
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
                n--;
        return n > 0 ? n : max;
}

int logs_parse_timestamp(const char *line, size_t len, const char *format, int64_t now_ms, int64_t *ret_ms)
{
        char text[LOGS_TIMESTAMP_SCAN + 1];
        struct tm tm;
        const char *p;
        int64_t ms = 0;
        time_t t;

        if (len > LOGS_TIMESTAMP_SCAN)
                len = LOGS_TIMESTAMP_SCAN;
        memcpy(text, line, len);
        text[len] = '\0';
        memset(&tm, 0, sizeof(tm));
        tm.tm_year = INT_MIN;
        tm.tm_mday = 1;
        p = strptime(text, format, &tm);
        if (!p)
                return -EINVAL;
        if (tm.tm_year == INT_MIN) {
                time_t now = (time_t)(now_ms / 1000);
                struct tm nt;

                if (!localtime_r(&now, &nt))
                        return -EINVAL;
                tm.tm_year = nt.tm_year;
        }
        if ((*p == '.' || *p == ',') && isdigit((unsigned char)p[1])) {
                int digits = 0;

                for (p++; isdigit((unsigned char)*p); p++)
                        if (digits < 3) {
                                ms = ms * 10 + (*p - '0');
                                digits++;
                        }
                while (digits++ < 3)
                        ms *= 10;
        }
        if (strstr(format, "%z")) {
                long off = tm.tm_gmtoff;

                t = timegm(&tm);
                if (t == (time_t)-1)
                        return -EINVAL;
                t -= off;
        } else {
                tm.tm_isdst = -1;
                t = mktime(&tm);
                if (t == (time_t)-1)
                        return -EINVAL;
        }
        *ret_ms = (int64_t)t * 1000 + ms;
        return 0;
}

void logs_builder_init(struct logs_builder *b, const regex_t *start, const char *ts_format)
{
        memset(b, 0, sizeof(*b));
        b->start = start;
        b->ts_format = ts_format;
        buf_init(&b->cur, LOGS_EVENT_BUILD_MAX + 1);
        buf_init(&b->fixed, 3 * (LOGS_EVENT_BUILD_MAX + 1));
}

void logs_builder_free(struct logs_builder *b)
{
        buf_free(&b->cur);
        buf_free(&b->fixed);
        b->have = false;
}

void logs_builder_reset(struct logs_builder *b)
{
        buf_reset(&b->cur);
        b->have = false;
}

/* Repairs TEXT and hands it to EMIT in pieces CloudWatch takes. */
static int emit_text(struct logs_builder *b, const char *text, size_t len, int64_t ts, uint64_t start,
                     uint64_t end, logs_emit_fn emit, void *userdata)
{
        size_t pos = 0, n;
        const char *s;
        int r;

        if (logs_utf8_valid_prefix(text, len) == len) {
                s = text;       /* the common case: no copy */
        } else {
                buf_reset(&b->fixed);
                r = logs_utf8_repair(text, len, &b->fixed);
                if (r < 0)
                        return r;
                s = buf_str(&b->fixed);
                len = buf_len(&b->fixed);
        }
        while (pos < len) {
                n = logs_utf8_cut(s + pos, len - pos, LOGS_EVENT_MAX_BYTES);
                r = emit(userdata, ts, s + pos, n, pos + n == len ? end : start);
                if (r < 0)
                        return r;
                pos += n;
        }
        return 0;
}

int logs_builder_flush(struct logs_builder *b, logs_emit_fn emit, void *userdata)
{
        int r;

        if (!b->have)
                return 0;
        r = emit_text(b, buf_str(&b->cur), buf_len(&b->cur), b->cur_ts, b->cur_start, b->cur_end, emit, userdata);
        buf_reset(&b->cur);
        b->have = false;
        return r;
}

static int64_t line_time(const struct logs_builder *b, const char *line, size_t len, int64_t read_ms)
{
        int64_t ts;

        if (b->ts_format && logs_parse_timestamp(line, len, b->ts_format, read_ms, &ts) >= 0)
                return ts;
        return read_ms;
}

int logs_builder_line(struct logs_builder *b, char *line, size_t len, uint64_t start, uint64_t end,
                      int64_t read_ms, logs_emit_fn emit, void *userdata)
{
        int r;

        if (!b->start)  /* every line is an event: no copy */
                return emit_text(b, line, len, line_time(b, line, len, read_ms), start, end, emit, userdata);
        line[len] = '\0';
        if (b->have && regexec(b->start, line, 0, NULL, 0) != 0 &&
            buf_len(&b->cur) + 1 + len <= LOGS_EVENT_BUILD_MAX) {
                r = buf_append(&b->cur, "\n", 1);
                if (r >= 0)
                        r = buf_append(&b->cur, line, len);
                if (r < 0)
                        return r;
                b->cur_end = end;
                return 0;
        }
        r = logs_builder_flush(b, emit, userdata);
        if (r < 0)
                return r;
        if (len > LOGS_EVENT_BUILD_MAX)  /* a line this long is an event of its own */
                return emit_text(b, line, len, line_time(b, line, len, read_ms), start, end, emit, userdata);
        r = buf_append(&b->cur, line, len);
        if (r < 0)
                return r;
        b->have = true;
        b->cur_ts = line_time(b, line, len, read_ms);
        b->cur_start = start;
        b->cur_end = end;
        return 0;
}
