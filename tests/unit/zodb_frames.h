/* Test helper: the frames recorded from a real ZEO 6.0 server (tests/data/zeo/NAME.jsonl). */
#ifndef TEST_ZEO_FRAMES_H
#define TEST_ZEO_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZEO_FRAMES_MAX 32

struct zeo_frame {
        bool from_server;
        uint8_t *data;
        size_t len;
};

struct zeo_recording {
        struct zeo_frame frames[ZEO_FRAMES_MAX];
        size_t n;
};

/* Loads TEST_DATA_DIR/zeo/NAME.jsonl; aborts the test program on any error. */
void zeo_recording_load(const char *name, struct zeo_recording *ret);
void zeo_recording_free(struct zeo_recording *rec);

#endif
