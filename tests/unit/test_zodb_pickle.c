/* pickle: the strict, bounded pickle subset of recipes/zodb_pack, against the frames recorded
 * from a real ZEO 6.0 server and against every limit. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "zodb_frames.h"
#include "zodb_pickle.h"

static struct pickle_doc *decode_ok(const void *p, size_t n)
{
        struct pickle_doc *doc = NULL;
        struct pickle_error err;
        int r = pickle_decode(p, n, &doc, &err);

        if (r < 0)
                fail_msg("decode failed (%d) at %zu: %s", r, err.offset, err.why);
        return doc;
}

static int decode_err(const void *p, size_t n, struct pickle_error *err)
{
        struct pickle_doc *doc = NULL;
        int r = pickle_decode(p, n, &doc, err);

        assert_true(r < 0);
        assert_null(doc);
        return r;
}

static const char *repr_of(const struct pickle_value *v)
{
        static char buf[2048];

        return pickle_repr(v, buf, sizeof(buf));
}

static const struct pickle_value *msg_args(const struct pickle_value *msg, int64_t id, int64_t flag, const char *name)
{
        int64_t v;

        assert_int_equal(msg->kind, PICKLE_TUPLE);
        assert_int_equal(msg->n, 4);
        assert_true(pickle_get_int(pickle_item(msg, 0), &v));
        assert_int_equal(v, id);
        assert_true(pickle_get_int(pickle_item(msg, 1), &v));
        assert_int_equal(v, flag);
        assert_true(pickle_is_str(pickle_item(msg, 2), name));
        return pickle_item(msg, 3);
}

/* Every frame of the successful pack decodes to what the recording's disassembly says. */
static void test_recorded_pack_session_decodes(void **state)
{
        struct zeo_recording rec;
        struct pickle_doc *doc;
        const struct pickle_value *a, *d, *ifaces;
        int64_t v;

        zeo_recording_load("pack-success", &rec);
        assert_int_equal(rec.n, 9);

        doc = decode_ok(rec.frames[2].data, rec.frames[2].len);
        a = msg_args(pickle_doc_root(doc), 1, 0, "register");
        assert_string_equal(repr_of(a), "('1', 1)");
        assert_int_equal(pickle_item(msg_args(pickle_doc_root(doc), 1, 0, "register"), 1)->kind, PICKLE_INT);
        pickle_doc_free(doc);

        doc = decode_ok(rec.frames[3].data, rec.frames[3].len);
        a = msg_args(pickle_doc_root(doc), 1, 0, ".reply");
        assert_int_equal(a->kind, PICKLE_BYTES);
        assert_int_equal(a->len, 8);
        assert_memory_equal(a->data, "\x04\r/\x86" "3\xa5\xd4" "f", 8);
        pickle_doc_free(doc);

        doc = decode_ok(rec.frames[4].data, rec.frames[4].len);
        assert_int_equal(msg_args(pickle_doc_root(doc), 2, 0, "get_info")->n, 0);
        pickle_doc_free(doc);

        doc = decode_ok(rec.frames[5].data, rec.frames[5].len);
        d = msg_args(pickle_doc_root(doc), 2, 0, ".reply");
        assert_int_equal(d->kind, PICKLE_DICT);
        assert_int_equal(d->n, 12);
        assert_true(pickle_get_int(pickle_dict_get(d, "size"), &v));
        assert_int_equal(v, 2059566);
        assert_true(pickle_get_int(pickle_dict_get(d, "length"), &v));
        assert_int_equal(v, 201);
        assert_true(pickle_is_str(pickle_dict_get(d, "name"), "/srv/plone/var/filestorage/Data.fs"));
        assert_true(pickle_dict_get(d, "supportsUndo")->b);
        ifaces = pickle_dict_get(d, "interfaces");
        assert_int_equal(ifaces->n, 7);
        assert_string_equal(repr_of(pickle_item(ifaces, 6)), "('zope.interface', 'Interface')");
        assert_null(pickle_dict_get(d, "nosuch"));
        pickle_doc_free(doc);

        doc = decode_ok(rec.frames[6].data, rec.frames[6].len);
        a = msg_args(pickle_doc_root(doc), 3, 0, "pack");
        assert_int_equal(pickle_item(a, 0)->kind, PICKLE_FLOAT);
        assert_true(pickle_item(a, 0)->f == 1795346293.5520952);
        assert_true(pickle_item(a, 1)->kind == PICKLE_BOOL && pickle_item(a, 1)->b);
        pickle_doc_free(doc);

        doc = decode_ok(rec.frames[7].data, rec.frames[7].len);
        a = msg_args(pickle_doc_root(doc), 0, 1, "info");
        assert_string_equal(repr_of(a), "({'length': 2, 'size': 10301},)");
        pickle_doc_free(doc);

        doc = decode_ok(rec.frames[8].data, rec.frames[8].len);
        assert_int_equal(msg_args(pickle_doc_root(doc), 3, 0, ".reply")->kind, PICKLE_NONE);
        pickle_doc_free(doc);
        zeo_recording_free(&rec);
}

/* The register() of the unknown-storage recording carries memo opcodes (BINPUT); the
 * exception reply is (class name, args). */
static void test_recorded_unknown_storage_decodes(void **state)
{
        struct zeo_recording rec;
        struct pickle_doc *doc;

        zeo_recording_load("register-unknown-storage", &rec);
        assert_int_equal(rec.n, 4);
        doc = decode_ok(rec.frames[2].data, rec.frames[2].len);
        assert_string_equal(repr_of(msg_args(pickle_doc_root(doc), 1, 0, "register")), "('nosuch', 1)");
        pickle_doc_free(doc);
        doc = decode_ok(rec.frames[3].data, rec.frames[3].len);
        assert_string_equal(repr_of(msg_args(pickle_doc_root(doc), 1, 2, ".reply")),
                            "('builtins.ValueError', ('unknown storage: nosuch',))");
        pickle_doc_free(doc);
        zeo_recording_free(&rec);
}

/* Every strict prefix of every recorded frame is rejected, never read past. */
static void test_truncated_frames_rejected(void **state)
{
        const char *names[] = { "pack-success", "register-unknown-storage" };
        size_t k, i, n;

        for (k = 0; k < 2; k++) {
                struct zeo_recording rec;

                zeo_recording_load(names[k], &rec);
                for (i = 0; i < rec.n; i++) {
                        if (rec.frames[i].len <= 2)
                                continue; /* the raw protocol ids */
                        for (n = 0; n < rec.frames[i].len; n++) {
                                uint8_t *copy = malloc(n ? n : 1);
                                struct pickle_error err;

                                memcpy(copy, rec.frames[i].data, n);
                                assert_int_equal(decode_err(copy, n, &err), -EBADMSG);
                                free(copy);
                        }
                }
                zeo_recording_free(&rec);
        }
}

/* Mutated recorded frames (seeded, deterministic) decode or fail cleanly; ASan checks the rest. */
static void test_mutated_frames_never_crash(void **state)
{
        struct zeo_recording rec;
        unsigned seed = 12345;
        size_t iter, i;

        zeo_recording_load("pack-success", &rec);
        for (iter = 0; iter < 20000; iter++) {
                struct zeo_frame *f = &rec.frames[2 + iter % 7];
                uint8_t *copy = malloc(f->len);
                struct pickle_doc *doc = NULL;
                struct pickle_error err;
                char buf[256];
                int r;

                memcpy(copy, f->data, f->len);
                for (i = 0; i < 1 + iter % 4; i++) {
                        seed = seed * 1103515245u + 12345u;
                        copy[(seed >> 8) % f->len] = (uint8_t)(seed >> 16);
                }
                r = pickle_decode(copy, f->len, &doc, &err);
                assert_true(r == 0 || r == -EBADMSG || r == -E2BIG);
                if (r == 0)
                        pickle_repr(pickle_doc_root(doc), buf, sizeof(buf));
                pickle_doc_free(doc);
                free(copy);
        }
        zeo_recording_free(&rec);
}

static void test_unknown_opcodes_rejected(void **state)
{
        /* protocol 0 INT, STRING, PERSID, INST, OBJ, NEWOBJ, EXT1, BYTEARRAY8, 0xff */
        static const uint8_t ops[] = { 'I', 'S', 'P', 'i', 'o', 0x81, 0x82, 0x96, 0xff, 'V', 'F', 'L' };
        size_t i;

        for (i = 0; i < sizeof(ops); i++) {
                uint8_t p[4] = { 0x80, 3, ops[i], '.' };
                struct pickle_error err;

                assert_int_equal(decode_err(p, sizeof(p), &err), -EBADMSG);
                assert_int_equal(err.offset, 2);
                assert_non_null(strstr(err.why, "opcode"));
        }
}

#define DECODE_FAILS(lit, code) do { \
                struct pickle_error e_; \
                assert_int_equal(decode_err(lit, sizeof(lit) - 1, &e_), code); \
        } while (0)

static void test_malformed_rejected(void **state)
{
        DECODE_FAILS("N.N", -EBADMSG);                   /* trailing bytes */
        DECODE_FAILS("NN.", -EBADMSG);                   /* two values at STOP */
        DECODE_FAILS("(N.", -EBADMSG);                   /* open MARK at STOP */
        DECODE_FAILS(".", -EBADMSG);                     /* nothing at STOP */
        DECODE_FAILS("\x85.", -EBADMSG);                 /* TUPLE1 on an empty stack */
        DECODE_FAILS("N(\x85.", -EBADMSG);               /* TUPLE1 may not reach below a MARK */
        DECODE_FAILS("Nt.", -EBADMSG);                   /* TUPLE without MARK */
        DECODE_FAILS(")Na.", -EBADMSG);                  /* APPEND to a tuple */
        DECODE_FAILS("]NNs.", -EBADMSG);                 /* SETITEM on a list */
        DECODE_FAILS("}(Nu.", -EBADMSG);                 /* SETITEMS with an odd count */
        DECODE_FAILS("(Ne.", -EBADMSG);                  /* APPENDS with nothing below the MARK */
        DECODE_FAILS("h\x05.", -EBADMSG);                /* BINGET of an unset slot */
        DECODE_FAILS("q\x00.", -EBADMSG);                /* BINPUT on an empty stack */
        DECODE_FAILS("X\x02\x00\x00\x00\xc3(.", -EBADMSG);   /* invalid UTF-8 */
        DECODE_FAILS("X\x02\x00\x00\x00\xc0\x80.", -EBADMSG); /* overlong NUL */
        DECODE_FAILS("X\xff\xff\xff\xff.", -EBADMSG);    /* length beyond the data */
        DECODE_FAILS("B\xff\xff\xff\x7f.", -EBADMSG);
        DECODE_FAILS("\x8d\xff\xff\xff\xff\xff\xff\xff\xff.", -EBADMSG);
        DECODE_FAILS("\x8a\x09\x01\x01\x01\x01\x01\x01\x01\x01\x01.", -EBADMSG); /* > 64 bits */
        DECODE_FAILS("\x95\xff\x00\x00\x00\x00\x00\x00\x00N.", -EBADMSG); /* FRAME too long */
        DECODE_FAILS("\x80\x06N.", -EBADMSG);            /* protocol 6 */
        DECODE_FAILS("cos\nsystem", -EBADMSG);           /* GLOBAL without its newline */
        DECODE_FAILS("cos x\nsystem\n.", -EBADMSG);      /* not a dotted name */
        DECODE_FAILS("NN\x93.", -EBADMSG);               /* STACK_GLOBAL of non-str */
        DECODE_FAILS("N)R.", -EBADMSG);                  /* REDUCE of a non-class */
        DECODE_FAILS("cbuiltins\nValueError\nNR.", -EBADMSG); /* REDUCE without an args tuple */
        DECODE_FAILS("N}b.", -EBADMSG);                  /* BUILD on a non-object */
        DECODE_FAILS("0.", -EBADMSG);                    /* POP on an empty stack */
        DECODE_FAILS("1.", -EBADMSG);                    /* POP_MARK without MARK */
        DECODE_FAILS("", -EBADMSG);                      /* empty */
}

/* Opcodes a real server may use beyond the recordings. */
static void test_other_server_opcodes(void **state)
{
        /* [1, 'a', b'x'*300] as Python pickles it (APPENDS, BINBYTES). */
        uint8_t list[17 + 300 + 2];
        struct pickle_doc *doc;
        const struct pickle_value *v;
        int64_t i;

        memcpy(list, "\x80\x03](K\x01X\x01\x00\x00\x00" "aB\x2c\x01\x00\x00", 17);
        memset(list + 17, 'x', 300);
        memcpy(list + 317, "e.", 2);
        doc = decode_ok(list, sizeof(list));
        v = pickle_doc_root(doc);
        assert_int_equal(v->kind, PICKLE_LIST);
        assert_int_equal(v->n, 3);
        assert_int_equal(pickle_item(v, 2)->kind, PICKLE_BYTES);
        assert_int_equal(pickle_item(v, 2)->len, 300);
        pickle_doc_free(doc);

        /* protocol 4: FRAME, SHORT_BINUNICODE, SETITEM */
        doc = decode_ok("\x80\x04\x95\x08\x00\x00\x00\x00\x00\x00\x00}\x8c\x01" "aK\x01s.", 19);
        assert_string_equal(repr_of(pickle_doc_root(doc)), "{'a': 1}");
        pickle_doc_free(doc);

        /* LONG1 (negative and positive), BININT2, BININT, NEWFALSE, MEMOIZE, LONG_BINPUT/GET,
         * DUP, POP, POP_MARK, empty list with APPEND. */
        doc = decode_ok("(\x8a\x06\x00\x00\x00\x00\x00\xff\x8a\x06\x00\x00\x00\x00\x00\x01"
                        "M\x00\x01J\xff\xff\xff\xff\x89\x94h\x00r\x07\x00\x00\x00j\x07\x00\x00\x00"
                        "2" "0" "(NN1" "]N" "at.", 50);
        assert_string_equal(repr_of(pickle_doc_root(doc)),
                            "(-1099511627776, 1099511627776, 256, -1, False, False, False, [None])");
        assert_true(pickle_get_int(pickle_item(pickle_doc_root(doc), 0), &i));
        assert_int_equal(i, -1099511627776LL);
        pickle_doc_free(doc);
}

/* An exception pickled as an object: GLOBAL + REDUCE (+ BUILD), STACK_GLOBAL in protocol 4. */
static void test_exception_objects_are_opaque(void **state)
{
        static const char p2[] = "\x80\x02" "cexceptions\nValueError\nq\x00X\x01\x00\x00\x00xq\x01\x85q\x02Rq\x03.";
        static const char p4[] = "\x80\x04\x95\x23\x00\x00\x00\x00\x00\x00\x00\x8c\x08" "builtins\x94\x8c\x0a"
                                 "ValueError\x94\x93\x94\x8c\x01x\x94\x85\x94R\x94.";
        static const char p3[] = "\x80\x03" "cbuiltins\nValueError\nq\x00X\x01\x00\x00\x00xq\x01\x85q\x02Rq\x03}q\x04"
                                 "X\x03\x00\x00\x00" "fooq\x05K\x01sb.";
        struct pickle_doc *doc;
        const struct pickle_value *v;

        doc = decode_ok(p2, sizeof(p2) - 1);
        v = pickle_doc_root(doc);
        assert_int_equal(v->kind, PICKLE_OBJECT);
        assert_string_equal(v->items[0]->data, "exceptions.ValueError");
        assert_string_equal(repr_of(v), "exceptions.ValueError('x',)");
        pickle_doc_free(doc);

        doc = decode_ok(p4, sizeof(p4) - 1);
        assert_string_equal(pickle_doc_root(doc)->items[0]->data, "builtins.ValueError");
        pickle_doc_free(doc);

        doc = decode_ok(p3, sizeof(p3) - 1);
        v = pickle_doc_root(doc);
        assert_int_equal(v->n, 3);
        assert_string_equal(repr_of(v->items[2]), "{'foo': 1}");
        pickle_doc_free(doc);
}

/* Python pickles str with surrogatepass: the decoder accepts encoded surrogates, the encoder
 * refuses them; repr escapes control characters. */
static void test_surrogates_and_repr_escaping(void **state)
{
        struct pickle_enc e = PICKLE_ENC_INIT;
        struct pickle_doc *doc;
        uint8_t *out;
        size_t n;

        doc = decode_ok("X\x05\x00\x00\x00\xed\xa0\x80\n'.", 11);
        assert_string_equal(repr_of(pickle_doc_root(doc)), "'\xed\xa0\x80\\x0a\\''");
        pickle_doc_free(doc);
        pickle_enc_str(&e, "\xed\xa0\x80", 3);
        assert_int_equal(pickle_enc_finish(&e, &out, &n), -EINVAL);
}

static void test_repr_is_bounded(void **state)
{
        struct pickle_doc *doc;
        char small[16];

        doc = decode_ok("(X\x04\x00\x00\x00" "abcdX\x04\x00\x00\x00" "efghX\x04\x00\x00\x00" "ijklt.", 30);
        assert_string_equal(pickle_repr(pickle_doc_root(doc), small, sizeof(small)), "('abcd', 'ef...");
        pickle_doc_free(doc);
}

/* ---- limits: at the limit works, one past fails with -E2BIG ---- */

static void test_limit_marks(void **state)
{
        uint8_t p[2 * (PICKLE_MAX_MARKS + 1) + 1];
        size_t k;
        struct pickle_doc *doc;
        struct pickle_error err;

        for (k = 0; k < PICKLE_MAX_MARKS; k++)
                p[k] = '(';
        for (k = 0; k < PICKLE_MAX_MARKS; k++)
                p[PICKLE_MAX_MARKS + k] = 't';
        p[2 * PICKLE_MAX_MARKS] = '.';
        doc = decode_ok(p, 2 * PICKLE_MAX_MARKS + 1);
        pickle_doc_free(doc);

        for (k = 0; k <= PICKLE_MAX_MARKS; k++)
                p[k] = '(';
        for (k = 0; k <= PICKLE_MAX_MARKS; k++)
                p[PICKLE_MAX_MARKS + 1 + k] = 't';
        p[2 * (PICKLE_MAX_MARKS + 1)] = '.';
        assert_int_equal(decode_err(p, sizeof(p), &err), -E2BIG);
        assert_non_null(strstr(err.why, "MARK"));
}

static void test_limit_stack(void **state)
{
        size_t n = PICKLE_MAX_STACK + 3;
        uint8_t *p = malloc(n);
        struct pickle_doc *doc;
        struct pickle_error err;

        p[0] = '(';
        memset(p + 1, 'N', PICKLE_MAX_STACK);
        p[1 + PICKLE_MAX_STACK] = 't';
        p[2 + PICKLE_MAX_STACK] = '.';
        doc = decode_ok(p, n);
        assert_int_equal(pickle_doc_root(doc)->n, PICKLE_MAX_STACK);
        pickle_doc_free(doc);
        free(p);

        n = PICKLE_MAX_STACK + 4;
        p = malloc(n);
        p[0] = '(';
        memset(p + 1, 'N', PICKLE_MAX_STACK + 1);
        p[2 + PICKLE_MAX_STACK] = 't';
        p[3 + PICKLE_MAX_STACK] = '.';
        assert_int_equal(decode_err(p, n, &err), -E2BIG);
        assert_int_equal(err.offset, 1 + PICKLE_MAX_STACK);
        free(p);
}

/* Nesting without MARKs: ()(,),((,),),... */
static void test_limit_depth(void **state)
{
        uint8_t p[PICKLE_MAX_DEPTH + 2];
        struct pickle_doc *doc;
        struct pickle_error err;

        p[0] = ')';
        memset(p + 1, 0x85, PICKLE_MAX_DEPTH - 1);
        p[PICKLE_MAX_DEPTH] = '.';
        doc = decode_ok(p, PICKLE_MAX_DEPTH + 1);
        pickle_doc_free(doc);

        memset(p + 1, 0x85, PICKLE_MAX_DEPTH);
        p[PICKLE_MAX_DEPTH + 1] = '.';
        assert_int_equal(decode_err(p, sizeof(p), &err), -E2BIG);
        assert_non_null(strstr(err.why, "nested"));
}

/* A list appended to itself (a cycle through the memo) is bounded too, and repr stops. */
static void test_self_reference_is_bounded(void **state)
{
        struct pickle_doc *doc;
        struct pickle_error err;
        char buf[64];

        doc = decode_ok("]q\x00h\x00" "a.", 7);
        pickle_repr(pickle_doc_root(doc), buf, sizeof(buf));
        assert_int_equal(strlen(buf), sizeof(buf) - 1);
        assert_int_equal(strspn(buf, "["), sizeof(buf) - 4);
        assert_string_equal(buf + sizeof(buf) - 4, "...");
        pickle_doc_free(doc);
        {
                char p[4 + 3 * PICKLE_MAX_DEPTH + 1];
                size_t k;

                memcpy(p, "]q\x00", 3);
                for (k = 0; k < PICKLE_MAX_DEPTH; k++)
                        memcpy(p + 3 + 3 * k, "h\x00" "a", 3);
                p[3 + 3 * PICKLE_MAX_DEPTH] = '.';
                assert_int_equal(decode_err(p, 4 + 3 * PICKLE_MAX_DEPTH, &err), -E2BIG);
        }
}

static void test_limit_memo(void **state)
{
        struct pickle_doc *doc;
        struct pickle_error err;
        uint8_t ok[] = { 'N', 'r', (PICKLE_MAX_MEMO - 1) & 0xff, (PICKLE_MAX_MEMO - 1) >> 8, 0, 0, '.' };
        uint8_t bad[] = { 'N', 'r', PICKLE_MAX_MEMO & 0xff, PICKLE_MAX_MEMO >> 8, 0, 0, '.' };
        uint8_t huge[] = { 'N', 'r', 0xff, 0xff, 0xff, 0xff, '.' };
        uint8_t get[] = { 'j', 0xff, 0xff, 0xff, 0xff, '.' };

        doc = decode_ok(ok, sizeof(ok));
        pickle_doc_free(doc);
        assert_int_equal(decode_err(bad, sizeof(bad), &err), -E2BIG);
        assert_int_equal(decode_err(huge, sizeof(huge), &err), -E2BIG);
        assert_int_equal(decode_err(get, sizeof(get), &err), -EBADMSG);
}

static void test_limit_values(void **state)
{
        size_t n = 2 + 2 * (size_t)PICKLE_MAX_VALUES;
        uint8_t *p = malloc(n);
        struct pickle_doc *doc;
        struct pickle_error err;
        size_t k;

        /* ] then (MAX-1) x "Na": exactly PICKLE_MAX_VALUES values */
        p[0] = ']';
        for (k = 0; k < PICKLE_MAX_VALUES - 1; k++)
                memcpy(p + 1 + 2 * k, "Na", 2);
        p[1 + 2 * (PICKLE_MAX_VALUES - 1)] = '.';
        doc = decode_ok(p, 2 + 2 * (PICKLE_MAX_VALUES - 1));
        assert_int_equal(pickle_doc_root(doc)->n, PICKLE_MAX_VALUES - 1);
        pickle_doc_free(doc);

        memcpy(p + 1 + 2 * (PICKLE_MAX_VALUES - 1), "Na", 2);
        p[n - 1] = '.';
        assert_int_equal(decode_err(p, n, &err), -E2BIG);
        free(p);
}

static void test_limit_input(void **state)
{
        struct pickle_error err;
        uint8_t one = '.';

        /* Refused on its size alone: nothing is read. */
        assert_int_equal(decode_err(&one, (size_t)PICKLE_MAX_INPUT + 1, &err), -E2BIG);
}

static void test_limit_global_line(void **state)
{
        char p[2 + 300 + 6];
        struct pickle_error err;
        struct pickle_doc *doc;

        p[0] = 'c';
        memset(p + 1, 'a', 256);
        memcpy(p + 257, "\nb\n.", 4);
        doc = decode_ok(p, 261);
        pickle_doc_free(doc);
        memset(p + 1, 'a', 257);
        memcpy(p + 258, "\nb\n.", 4);
        assert_int_equal(decode_err(p, 262, &err), -EBADMSG);
}

/* The head of every recorded message, read without decoding. */
static void test_peek_message_head(void **state)
{
        struct zeo_recording rec;
        const char *name;
        size_t i, n;
        int64_t id, flag;
        static const struct { int64_t id, flag; const char *name; } expect[] = {
                { 1, 0, "register" }, { 1, 0, ".reply" }, { 2, 0, "get_info" }, { 2, 0, ".reply" },
                { 3, 0, "pack" }, { 0, 1, "info" }, { 3, 0, ".reply" },
        };

        zeo_recording_load("pack-success", &rec);
        for (i = 2; i < rec.n; i++) {
                assert_int_equal(pickle_peek_message(rec.frames[i].data, rec.frames[i].len, &id, &flag, &name, &n), 0);
                assert_int_equal(id, expect[i - 2].id);
                assert_int_equal(flag, expect[i - 2].flag);
                assert_int_equal(n, strlen(expect[i - 2].name));
                assert_memory_equal(name, expect[i - 2].name, n);
        }
        /* protocol 4 head with FRAME and SHORT_BINUNICODE */
        assert_int_equal(pickle_peek_message("\x80\x04\x95\x10\0\0\0\0\0\0\0(K\0\x88\x8c\x04infoN.", 23,
                                             &id, &flag, &name, &n), 0);
        assert_int_equal(n, 4);
        /* heads that are not a message */
        assert_int_equal(pickle_peek_message("", 0, &id, &flag, &name, &n), -EBADMSG);
        assert_int_equal(pickle_peek_message("\x80\x03N.", 4, &id, &flag, &name, &n), -EBADMSG);
        assert_int_equal(pickle_peek_message("(K\x01", 3, &id, &flag, &name, &n), -EBADMSG);
        assert_int_equal(pickle_peek_message("(K\x01K\x00X\xff\0\0\0ab", 12, &id, &flag, &name, &n), -EBADMSG);
        assert_int_equal(pickle_peek_message("(K\x01K\x00X\x01\0\0\0\xff", 11, &id, &flag, &name, &n), -EBADMSG);
        assert_int_equal(pickle_peek_message("(K\x01NX\x01\0\0\0a", 10, &id, &flag, &name, &n), -EBADMSG);
        zeo_recording_free(&rec);
}

/* ---- encoder ---- */

static void enc_check_int(int64_t i, const char *expect, size_t n)
{
        struct pickle_enc e = PICKLE_ENC_INIT;
        struct pickle_doc *doc;
        uint8_t *out;
        size_t len;

        pickle_enc_int(&e, i);
        assert_int_equal(pickle_enc_finish(&e, &out, &len), 0);
        assert_int_equal(len, n + 1);
        assert_memory_equal(out, expect, n);
        doc = decode_ok(out, len);
        assert_int_equal(pickle_doc_root(doc)->i, i);
        pickle_doc_free(doc);
        free(out);
}

/* Ints are encoded as CPython 3 encodes them (bytes taken from pickle.dumps). */
static void test_encode_ints_like_python(void **state)
{
        enc_check_int(0, "K\x00", 2);
        enc_check_int(255, "K\xff", 2);
        enc_check_int(256, "M\x00\x01", 3);
        enc_check_int(65535, "M\xff\xff", 3);
        enc_check_int(65536, "J\x00\x00\x01\x00", 5);
        enc_check_int(-1, "J\xff\xff\xff\xff", 5);
        enc_check_int(-128, "J\x80\xff\xff\xff", 5);
        enc_check_int(INT32_MIN, "J\x00\x00\x00\x80", 5);
        enc_check_int(INT32_MAX, "J\xff\xff\xff\x7f", 5);
        enc_check_int(2147483648LL, "\x8a\x05\x00\x00\x00\x80\x00", 7);
        enc_check_int(-2147483649LL, "\x8a\x05\xff\xff\xff\x7f\xff", 7);
        enc_check_int(1099511627776LL, "\x8a\x06\x00\x00\x00\x00\x00\x01", 8);
        enc_check_int(-1099511627776LL, "\x8a\x06\x00\x00\x00\x00\x00\xff", 8);
        enc_check_int(INT64_MAX, "\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f", 10);
        enc_check_int(INT64_MIN, "\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80", 10);
}

static void test_encode_scalars_and_tuples(void **state)
{
        struct pickle_enc e = PICKLE_ENC_INIT;
        uint8_t *out, big[300];
        struct pickle_doc *doc;
        size_t len;

        memset(big, 'y', sizeof(big));
        pickle_enc_proto(&e);
        pickle_enc_tuple_begin(&e, 5);
        pickle_enc_none(&e);
        pickle_enc_bool(&e, true);
        pickle_enc_float(&e, 0.5);
        pickle_enc_bytes(&e, "ab", 2);
        pickle_enc_bytes(&e, big, sizeof(big));
        pickle_enc_tuple_end(&e, 5);
        assert_int_equal(pickle_enc_finish(&e, &out, &len), 0);
        assert_int_equal(len, 2 + 1 + 1 + 1 + 9 + 4 + 5 + 300 + 1 + 1);
        assert_memory_equal(out, "\x80\x03(N\x88G\x3f\xe0\x00\x00\x00\x00\x00\x00" "C\x02" "abB\x2c\x01\x00\x00", 23);
        assert_memory_equal(out + len - 2, "t.", 2);
        doc = decode_ok(out, len);
        assert_int_equal(pickle_doc_root(doc)->n, 5);
        assert_true(pickle_item(pickle_doc_root(doc), 2)->f == 0.5);
        pickle_doc_free(doc);
        free(out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_recorded_pack_session_decodes),
                cmocka_unit_test(test_recorded_unknown_storage_decodes),
                cmocka_unit_test(test_truncated_frames_rejected),
                cmocka_unit_test(test_mutated_frames_never_crash),
                cmocka_unit_test(test_unknown_opcodes_rejected),
                cmocka_unit_test(test_malformed_rejected),
                cmocka_unit_test(test_other_server_opcodes),
                cmocka_unit_test(test_exception_objects_are_opaque),
                cmocka_unit_test(test_surrogates_and_repr_escaping),
                cmocka_unit_test(test_repr_is_bounded),
                cmocka_unit_test(test_limit_marks),
                cmocka_unit_test(test_limit_stack),
                cmocka_unit_test(test_limit_depth),
                cmocka_unit_test(test_self_reference_is_bounded),
                cmocka_unit_test(test_limit_memo),
                cmocka_unit_test(test_limit_values),
                cmocka_unit_test(test_limit_input),
                cmocka_unit_test(test_limit_global_line),
                cmocka_unit_test(test_peek_message_head),
                cmocka_unit_test(test_encode_ints_like_python),
                cmocka_unit_test(test_encode_scalars_and_tuples),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
