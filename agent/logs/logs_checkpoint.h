/* Where each source has got to, as CloudWatch accepted it: STATE/logs/checkpoints.json,
 * written atomically with mode 0600 and only after an accepted batch, so that a restart (even
 * after kill -9) resends at most the batch that was in flight.
 *
 *   {"version": 1, "sources": {NAME: {"files": [FILE, ...], "cursor": "journal cursor"}}}
 *   FILE = {"path": P, "dev": D, "ino": I, "fingerprint": SHA256HEX, "fingerprint_len": N,
 *           "offset": O}
 *
 * A file is known by its device and inode and by the fingerprint (SHA-256 of its first N <=
 * LOGS_FP_BYTES bytes), so that a file renamed or copied by a rotation is recognised, and a new
 * file that reuses an inode is not taken for the old one. No logging. */
#ifndef OPSAGENT_LOGS_CHECKPOINT_H
#define OPSAGENT_LOGS_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "util/error.h"

#define LOGS_FP_BYTES 1024
#define LOGS_CHECKPOINT_MAX_BYTES (16 * 1024 * 1024)
#define LOGS_CHECKPOINTS_FILE "checkpoints.json"

struct logs_fp {
        unsigned char sha[32];
        size_t len;                     /* bytes it covers (0: an empty file) */
};

/* One file's identity and accepted offset. */
struct logs_file_ckpt {
        const char *path;               /* borrowed from the JSON it was parsed from */
        uint64_t dev, ino;
        struct logs_fp fp;
        uint64_t offset;
};

/* The fingerprint of FD's first bytes (up to LOGS_FP_BYTES, pread: the offset is not moved). */
int logs_fp_of_fd(int fd, struct logs_fp *ret);
/* Whether FD's first FP->len bytes have FP's hash (false also when FD is shorter). */
bool logs_fp_matches(int fd, const struct logs_fp *fp);
bool logs_fp_equal(const struct logs_fp *a, const struct logs_fp *b);

/* Reads STATE_LOGS_DIR/checkpoints.json into *ret (a new object; {"version":1,"sources":{}}
 * when there is none). -EBADMSG (ERR names the file) when it is not what this module wrote. */
int logs_checkpoint_load(const char *logs_dir, json_object **ret, struct error *err);
/* Writes TREE there (atomically, 0600). */
int logs_checkpoint_save(const char *logs_dir, json_object *tree, struct error *err);

/* The "sources"."NAME" object of TREE, created when CREATE (NULL when absent or ENOMEM). */
json_object *logs_checkpoint_source(json_object *tree, const char *name, bool create);
/* A FILE object for C (new reference, NULL on ENOMEM). */
json_object *logs_file_ckpt_to_json(const struct logs_file_ckpt *c);
/* Parses a FILE object; -EBADMSG when a member is missing or of the wrong type. */
int logs_file_ckpt_from_json(json_object *o, struct logs_file_ckpt *ret);

#endif
