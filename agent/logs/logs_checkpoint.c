#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "logs_checkpoint.h"
#include "util/fileio.h"
#include "util/jsonutil.h"

static int read_head(int fd, unsigned char *b, size_t want, size_t *ret_len)
{
        size_t got = 0;

        while (got < want) {
                ssize_t n = pread(fd, b + got, want - got, (off_t)got);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        *ret_len = got;
        return 0;
}

int logs_fp_of_fd(int fd, struct logs_fp *ret)
{
        unsigned char b[LOGS_FP_BYTES];
        size_t n;
        int r = read_head(fd, b, sizeof(b), &n);

        if (r < 0)
                return r;
        SHA256(b, n, ret->sha);
        ret->len = n;
        return 0;
}

bool logs_fp_matches(int fd, const struct logs_fp *fp)
{
        unsigned char b[LOGS_FP_BYTES], sha[32];
        size_t n;

        if (fp->len > LOGS_FP_BYTES || read_head(fd, b, fp->len, &n) < 0 || n != fp->len)
                return false;
        SHA256(b, n, sha);
        return memcmp(sha, fp->sha, sizeof(sha)) == 0;
}

bool logs_fp_equal(const struct logs_fp *a, const struct logs_fp *b)
{
        return a->len == b->len && memcmp(a->sha, b->sha, sizeof(a->sha)) == 0;
}

static json_object *empty_tree(void)
{
        json_object *t = json_object_new_object();

        if (!t)
                return NULL;
        if (json_object_object_add(t, "version", json_object_new_int(1)) < 0 ||
            json_object_object_add(t, "sources", json_object_new_object()) < 0) {
                json_object_put(t);
                return NULL;
        }
        return t;
}

int logs_checkpoint_load(const char *logs_dir, json_object **ret, struct error *err)
{
        char *path = path_join(logs_dir, LOGS_CHECKPOINTS_FILE);
        json_object *t = NULL;
        int r;

        if (!path)
                return error_set(err, -ENOMEM, "out of memory");
        r = json_parse_file(path, true, &t, err);
        if (r < 0 && r != -ENOENT)
                goto out;
        if (r == -ENOENT || !t) {
                t = empty_tree();
                r = t ? 0 : error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        if (!json_object_is_type(t, json_type_object) ||
            !json_object_is_type(json_object_object_get(t, "sources"), json_type_object)) {
                r = error_set(err, -EBADMSG, "%s: not a checkpoint file of opsagent logs (move it away to start "
                              "over: every source is then shipped again from its start)", path);
                json_object_put(t);
                t = NULL;
                goto out;
        }
        r = 0;
out:
        if (r >= 0)
                *ret = t;
        free(path);
        return r;
}

int logs_checkpoint_save(const char *logs_dir, json_object *tree, struct error *err)
{
        char *path = path_join(logs_dir, LOGS_CHECKPOINTS_FILE);
        const char *text;
        size_t len;
        int r;

        if (!path)
                return error_set(err, -ENOMEM, "out of memory");
        text = json_object_to_json_string_length(tree, JSON_C_TO_STRING_PLAIN, &len);
        if (!text) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        r = write_file_atomic(path, text, len, 0600);
        if (r < 0)
                error_set(err, r, "%s: cannot write the checkpoints: %s", path, strerror(-r));
out:
        free(path);
        return r;
}

json_object *logs_checkpoint_source(json_object *tree, const char *name, bool create)
{
        json_object *srcs = json_object_object_get(tree, "sources"), *s;

        if (!srcs)
                return NULL;
        s = json_object_object_get(srcs, name);
        if (s || !create)
                return json_object_is_type(s, json_type_object) ? s : NULL;
        s = json_object_new_object();
        if (!s || json_object_object_add(srcs, name, s) < 0) {
                json_object_put(s);
                return NULL;
        }
        return s;
}

json_object *logs_file_ckpt_to_json(const struct logs_file_ckpt *c)
{
        char hex[65];
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        for (size_t i = 0; i < 32; i++)
                snprintf(hex + 2 * i, 3, "%02x", c->fp.sha[i]);
        if (json_object_object_add(o, "path", json_object_new_string(c->path ? c->path : "")) < 0 ||
            json_object_object_add(o, "dev", json_object_new_uint64(c->dev)) < 0 ||
            json_object_object_add(o, "ino", json_object_new_uint64(c->ino)) < 0 ||
            json_object_object_add(o, "fingerprint", json_object_new_string(hex)) < 0 ||
            json_object_object_add(o, "fingerprint_len", json_object_new_uint64(c->fp.len)) < 0 ||
            json_object_object_add(o, "offset", json_object_new_uint64(c->offset)) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static int get_u64(json_object *o, const char *key, uint64_t *ret)
{
        json_object *v = json_object_object_get(o, key);

        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
                return -EBADMSG;
        *ret = json_object_get_uint64(v);
        return 0;
}

int logs_file_ckpt_from_json(json_object *o, struct logs_file_ckpt *ret)
{
        struct logs_file_ckpt c;
        const char *hex;
        uint64_t fl;

        memset(&c, 0, sizeof(c));
        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        c.path = json_get_string(o, "path");
        hex = json_get_string(o, "fingerprint");
        if (!c.path || !hex || strlen(hex) != 64 || get_u64(o, "dev", &c.dev) < 0 || get_u64(o, "ino", &c.ino) < 0 ||
            get_u64(o, "fingerprint_len", &fl) < 0 || fl > LOGS_FP_BYTES || get_u64(o, "offset", &c.offset) < 0)
                return -EBADMSG;
        c.fp.len = (size_t)fl;
        for (size_t i = 0; i < 32; i++) {
                unsigned v;

                if (sscanf(hex + 2 * i, "%2x", &v) != 1)
                        return -EBADMSG;
                c.fp.sha[i] = (unsigned char)v;
        }
        *ret = c;
        return 0;
}
