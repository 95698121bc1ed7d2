/* A strict, bounded subset of Python's pickle format, for the ZEO 5 wire protocol.
 *
 * The encoder writes what a ZEO client sends, exactly as ZEO's own pickler does (protocol 3,
 * no memo): None, booleans, ints, floats, str (BINUNICODE), bytes and tuples.
 * The decoder reads what ZEO servers send: the opcodes of protocol 2-4 listed in pickle.c
 * (tuples, lists, dicts, ints, floats, str, bytes, the memo, FRAME), plus GLOBAL/STACK_GLOBAL
 * as an opaque class name and REDUCE/BUILD as an opaque object, which is how an exception can
 * travel. Nothing is ever imported or called. Every limit an outsider can push is a named
 * constant below; unknown opcodes, truncated input and trailing bytes are rejected. The decoder
 * never recurses; the few helpers that walk a value stop at PICKLE_MAX_DEPTH. */
#ifndef ZODB_PACK_PICKLE_H
#define ZODB_PACK_PICKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PICKLE_MAX_INPUT   (64u << 20) /* bytes one decode accepts */
#define PICKLE_MAX_STACK   4096u       /* values on the unpickler's stack at once */
#define PICKLE_MAX_MARKS   64u         /* MARKs open at once */
#define PICKLE_MAX_MEMO    4096u       /* memo slots (BINPUT/LONG_BINPUT index bound) */
#define PICKLE_MAX_VALUES  65536u      /* values one decode may create (~100 bytes each) */
#define PICKLE_MAX_DEPTH   64u         /* nesting of containers inside containers */
#define PICKLE_MAX_PROTO   5u          /* highest PROTO accepted */

enum pickle_kind {
        PICKLE_NONE,
        PICKLE_BOOL,
        PICKLE_INT,     /* fits int64_t; larger LONG1 values are rejected */
        PICKLE_FLOAT,
        PICKLE_STR,     /* valid UTF-8, NUL-terminated (may contain NULs: use len) */
        PICKLE_BYTES,   /* NUL-terminated for convenience */
        PICKLE_TUPLE,
        PICKLE_LIST,
        PICKLE_DICT,    /* items: key0, value0, key1, value1, ... (n is twice the pairs) */
        PICKLE_GLOBAL,  /* a class reference, never resolved: data is "module.name" */
        PICKLE_OBJECT,  /* REDUCE of a GLOBAL: items[0] the class, items[1] the args tuple,
                         * items[2] (n == 3) the BUILD state */
};

struct pickle_value {
        enum pickle_kind kind;
        bool b;
        int64_t i;
        double f;
        char *data;                  /* STR, BYTES, GLOBAL */
        size_t len;
        struct pickle_value **items; /* TUPLE, LIST, DICT, OBJECT */
        size_t n;
        /* private */
        size_t alloc;
        unsigned depth;
        struct pickle_value *next;
};

/* Why a decode failed, for the error message: the byte offset and a short reason. */
struct pickle_error {
        size_t offset;
        char why[160];
};

struct pickle_doc; /* owns every value of one decoded pickle */

/* Decodes one complete pickle (PROTO optional, ends with STOP and nothing after it).
 * *ret: the document, caller frees with pickle_doc_free(). -EBADMSG for malformed input
 * (unknown opcode, truncation, bad UTF-8, type mismatch, trailing bytes), -E2BIG when a
 * PICKLE_MAX_* limit is crossed, -ENOMEM. ERR (may be NULL) says where and why. */
int pickle_decode(const void *data, size_t len, struct pickle_doc **ret, struct pickle_error *err);
const struct pickle_value *pickle_doc_root(const struct pickle_doc *doc);
void pickle_doc_free(struct pickle_doc *doc); /* NULL is fine */

/* Reads only the head of a ZEO message pickle, (MSGID, FLAG, NAME, ...: the opcodes PROTO,
 * FRAME, MARK, an int, a bool or int, a str, then an optional BINPUT/MEMOIZE), without building
 * anything, so that big messages nobody reads (invalidateTransaction with many oids) need not be
 * decoded. 0 and *ret_* set; -EBADMSG when the data does not start that way. *ret_name points
 * into DATA and is not NUL-terminated. */
int pickle_peek_message(const void *data, size_t len, int64_t *ret_msgid, int64_t *ret_flag,
                        const char **ret_name, size_t *ret_name_len);

/* Accessors: NULL when V is not of the kind or the item is absent. Borrowed. */
const struct pickle_value *pickle_item(const struct pickle_value *v, size_t i); /* TUPLE or LIST */
const struct pickle_value *pickle_dict_get(const struct pickle_value *v, const char *key);
bool pickle_is_str(const struct pickle_value *v, const char *s);
/* True and *ret set when V is an int, a bool (0/1) or an integral float. */
bool pickle_get_int(const struct pickle_value *v, int64_t *ret);
/* A short printable rendering of V (Python-like, at most SIZE-1 bytes, "..." when cut,
 * non-printable bytes escaped) for messages. Returns BUF. */
char *pickle_repr(const struct pickle_value *v, char *buf, size_t size);

/* Encoder: appends opcodes to a growing buffer. Errors are sticky: check pickle_enc_finish(). */
struct pickle_enc {
        uint8_t *data;
        size_t len;
        size_t alloc;
        int error;
};

#define PICKLE_ENC_INIT { NULL, 0, 0, 0 }

void pickle_enc_proto(struct pickle_enc *e);            /* PROTO 3 */
void pickle_enc_none(struct pickle_enc *e);
void pickle_enc_bool(struct pickle_enc *e, bool b);     /* NEWTRUE / NEWFALSE */
void pickle_enc_int(struct pickle_enc *e, int64_t i);   /* BININT1/BININT2/BININT/LONG1 as Python */
void pickle_enc_float(struct pickle_enc *e, double f);  /* BINFLOAT */
void pickle_enc_str(struct pickle_enc *e, const char *s, size_t len);   /* BINUNICODE */
void pickle_enc_bytes(struct pickle_enc *e, const void *p, size_t len); /* SHORT_BINBYTES/BINBYTES */
/* A tuple of N items: tuple_begin, the N items, tuple_end (MARK...TUPLE only when N > 3). */
void pickle_enc_tuple_begin(struct pickle_enc *e, size_t n);
void pickle_enc_tuple_end(struct pickle_enc *e, size_t n);
/* Appends STOP and hands the bytes to the caller (*ret, caller frees; *ret_len). On error
 * returns it (-EINVAL for invalid UTF-8 in a str, -ENOMEM) and frees the buffer. */
int pickle_enc_finish(struct pickle_enc *e, uint8_t **ret, size_t *ret_len);
void pickle_enc_free(struct pickle_enc *e);

/* True when S[0..LEN) is valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
bool pickle_utf8_valid(const char *s, size_t len);

#endif
