/* zeo: the ZEO 5 client of recipes/zodb_pack, over a socketpair fed with the frames recorded
 * from a real ZEO 6.0 server (and variations of them): byte-exact client frames, async
 * messages, exception replies, old servers, garbage, absurd lengths, closes and timeouts. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "zodb_frames.h"
#include "zodb_pickle.h"
#include "zodb_zeo.h"

#define SHORT_MS 100     /* where a timeout is what is tested */
#define OK_MS 60000      /* where the answer is there at once: a deadline for a loaded machine */

struct fixture {
        int client;               /* handed to zeo_open_fd() */
        int server;               /* the test plays the server on this end */
        struct zeo_recording pack;
        struct zeo_recording nosuch;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        int sv[2];

        assert_non_null(f);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        f->client = sv[0];
        f->server = sv[1];
        zeo_recording_load("pack-success", &f->pack);
        zeo_recording_load("register-unknown-storage", &f->nosuch);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        if (f->client >= 0)
                close(f->client);
        close(f->server);
        zeo_recording_free(&f->pack);
        zeo_recording_free(&f->nosuch);
        free(f);
        return 0;
}

static void put_raw(int fd, const void *p, size_t n)
{
        assert_int_equal(write(fd, p, n), (ssize_t)n);
}

static void put_frame(int fd, const void *p, size_t n)
{
        uint8_t hdr[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };

        put_raw(fd, hdr, 4);
        put_raw(fd, p, n);
}

static void put_recorded(struct fixture *f, const struct zeo_recording *rec, size_t i)
{
        assert_true(rec->frames[i].from_server);
        put_frame(f->server, rec->frames[i].data, rec->frames[i].len);
}

/* (msgid, flag, '.reply', (cls, (msg,))): an exception reply as ZEO 5/6 servers send it. */
static void put_error_reply(int fd, int64_t msgid, const char *cls, const char *msg)
{
        struct pickle_enc e = PICKLE_ENC_INIT;
        uint8_t *out;
        size_t n;

        pickle_enc_proto(&e);
        pickle_enc_tuple_begin(&e, 4);
        pickle_enc_int(&e, msgid);
        pickle_enc_int(&e, 2);
        pickle_enc_str(&e, ".reply", 6);
        pickle_enc_str(&e, cls, strlen(cls));
        pickle_enc_str(&e, msg, strlen(msg));
        pickle_enc_tuple_end(&e, 1);
        pickle_enc_tuple_end(&e, 2);
        pickle_enc_tuple_end(&e, 4);
        assert_int_equal(pickle_enc_finish(&e, &out, &n), 0);
        put_frame(fd, out, n);
        free(out);
}

/* (MSGID, FLAG, NAME, None) */
static void put_message(int fd, int64_t msgid, int64_t flag, const char *name)
{
        struct pickle_enc e = PICKLE_ENC_INIT;
        uint8_t *out;
        size_t n;

        pickle_enc_proto(&e);
        pickle_enc_tuple_begin(&e, 4);
        pickle_enc_int(&e, msgid);
        pickle_enc_bool(&e, flag != 0);
        if (flag > 1) {
                e.len--;
                pickle_enc_int(&e, flag);
        }
        pickle_enc_str(&e, name, strlen(name));
        pickle_enc_none(&e);
        pickle_enc_tuple_end(&e, 4);
        assert_int_equal(pickle_enc_finish(&e, &out, &n), 0);
        put_frame(fd, out, n);
        free(out);
}

static void put_invalidation(int fd)
{
        struct pickle_enc e = PICKLE_ENC_INIT;
        uint8_t *out;
        size_t n;

        pickle_enc_proto(&e);
        pickle_enc_tuple_begin(&e, 4);
        pickle_enc_int(&e, 0);
        pickle_enc_bool(&e, true);
        pickle_enc_str(&e, "invalidateTransaction", 21);
        pickle_enc_tuple_begin(&e, 2);
        pickle_enc_bytes(&e, "\x04\r/\x86\x33\xa5\xd4\x67", 8);
        pickle_enc_tuple_begin(&e, 1);
        pickle_enc_bytes(&e, "\0\0\0\0\0\0\0\1", 8);
        pickle_enc_tuple_end(&e, 1);
        pickle_enc_tuple_end(&e, 2);
        pickle_enc_tuple_end(&e, 4);
        assert_int_equal(pickle_enc_finish(&e, &out, &n), 0);
        put_frame(fd, out, n);
        free(out);
}

/* Everything the client wrote so far. */
static size_t drain(int fd, uint8_t *buf, size_t cap)
{
        size_t len = 0;
        int fl = fcntl(fd, F_GETFL);

        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        for (;;) {
                ssize_t k = read(fd, buf + len, cap - len);

                if (k <= 0)
                        break;
                len += (size_t)k;
        }
        fcntl(fd, F_SETFL, fl);
        return len;
}

static struct zeo_client *open_client(struct fixture *f)
{
        struct zeo_client *c = NULL;
        struct zeo_error err = { 0, "" };
        int r;

        r = zeo_open_fd(f->client, "test-server", OK_MS, NULL, NULL, &c, &err);
        f->client = -1;
        if (r < 0)
                fail_msg("handshake failed: %s", err.msg);
        return c;
}

static int open_fails(struct fixture *f, struct zeo_error *err)
{
        struct zeo_client *c = NULL;
        int r = zeo_open_fd(f->client, "test-server", SHORT_MS, NULL, NULL, &c, err);

        f->client = -1;
        assert_true(r < 0);
        assert_null(c);
        assert_int_equal(err->code, r);
        return r;
}

/* ---- client frames equal the recorded ones, byte for byte ---- */

static void test_client_frames_equal_recording(void **state)
{
        struct fixture *f = *state;
        uint8_t *out;
        size_t n;

        assert_int_equal(zeo_encode_register(1, "1", true, &out, &n), 0);
        assert_int_equal(n, f->pack.frames[2].len);
        assert_memory_equal(out, f->pack.frames[2].data, n);
        free(out);
        assert_int_equal(zeo_encode_get_info(2, &out, &n), 0);
        assert_int_equal(n, f->pack.frames[4].len);
        assert_memory_equal(out, f->pack.frames[4].data, n);
        free(out);
        assert_int_equal(zeo_encode_pack(3, 1795346293.5520952, &out, &n), 0);
        assert_int_equal(n, f->pack.frames[6].len);
        assert_memory_equal(out, f->pack.frames[6].data, n);
        free(out);
}

/* The unknown-storage recording's register() was pickled with a memo (BINPUT after each str and
 * tuple); ZEO's client pickles without one. Without its BINPUTs it is our frame exactly. */
static void test_client_frame_equals_memo_recording_without_binput(void **state)
{
        struct fixture *f = *state;
        const struct zeo_frame *rec = &f->nosuch.frames[2];
        uint8_t stripped[64], *out;
        size_t i = 0, n = 0, len;

        assert_false(rec->from_server);
        while (i < rec->len) {
                uint8_t op = rec->data[i];
                size_t oplen = op == 0x80 || op == 'K' || op == 'q' ? 2 : op == 'X' ? 5 + (rec->data[i + 1] | rec->data[i + 2] << 8) : 1;

                if (op != 'q') {
                        memcpy(stripped + n, rec->data + i, oplen);
                        n += oplen;
                }
                i += oplen;
        }
        assert_int_equal(n, rec->len - 8);
        assert_int_equal(zeo_encode_register(1, "nosuch", true, &out, &len), 0);
        assert_int_equal(len, n);
        assert_memory_equal(out, stripped, n);
        free(out);
}

/* The whole recorded session: the server's frames in, the client's frames out, identical. */
static void test_replay_pack_session(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };
        struct zeo_info info = { 0 };
        struct zeo_client *c;
        uint8_t sent[1024], expect[1024];
        size_t n, k, i;

        for (i = 0; i < f->pack.n; i++)
                if (f->pack.frames[i].from_server)
                        put_recorded(f, &f->pack, i);
        c = open_client(f);
        assert_string_equal(zeo_server_protocol(c), "Z5");
        assert_int_equal(zeo_register(c, "1", true, OK_MS, &err), 0);
        assert_int_equal(zeo_get_info(c, OK_MS, &info, &err), 0);
        assert_true(info.has_size && info.has_length);
        assert_int_equal(info.size, 2059566);
        assert_int_equal(info.length, 201);
        assert_false(zeo_last_info(c, &info));
        assert_int_equal(zeo_pack(c, 1795346293.5520952, -1, &err), 0);
        assert_true(zeo_last_info(c, &info));
        assert_int_equal(info.size, 10301);
        assert_int_equal(info.length, 2);
        zeo_close(c);

        n = drain(f->server, sent, sizeof(sent));
        k = 0;
        for (i = 0; i < f->pack.n; i++) {
                const struct zeo_frame *fr = &f->pack.frames[i];

                if (fr->from_server)
                        continue;
                expect[k++] = 0;
                expect[k++] = 0;
                expect[k++] = (uint8_t)(fr->len >> 8);
                expect[k++] = (uint8_t)fr->len;
                memcpy(expect + k, fr->data, fr->len);
                k += fr->len;
        }
        assert_int_equal(n, k);
        assert_memory_equal(sent, expect, k);
}

static void test_unknown_storage(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };
        struct zeo_client *c;

        put_recorded(f, &f->nosuch, 0);
        put_recorded(f, &f->nosuch, 3);
        c = open_client(f);
        assert_int_equal(zeo_register(c, "nosuch", true, OK_MS, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "no storage \"nosuch\""));
        assert_non_null(strstr(err.msg, "builtins.ValueError: unknown storage: nosuch"));
        assert_non_null(strstr(err.msg, "zodb_pack.servers[].storages"));
        zeo_close(c);
}

static void register_ok(struct fixture *f, struct zeo_client *c)
{
        struct zeo_error err = { 0, "" };

        assert_int_equal(zeo_register(c, "1", true, OK_MS, &err), 0);
}

static void test_already_packing(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };
        struct zeo_client *c;

        put_recorded(f, &f->pack, 0);
        put_recorded(f, &f->pack, 3);
        put_error_reply(f->server, 2, "ZODB.FileStorage.FileStorage.FileStorageError", "Already packing");
        c = open_client(f);
        register_ok(f, c);
        assert_int_equal(zeo_pack(c, 1.0, OK_MS, &err), -EBUSY);
        assert_non_null(strstr(err.msg, "already packing"));
        assert_non_null(strstr(err.msg, "FileStorageError"));
        zeo_close(c);
}

static void test_other_exception_names_class_and_message(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };
        struct zeo_client *c;

        put_recorded(f, &f->pack, 0);
        put_recorded(f, &f->pack, 3);
        put_error_reply(f->server, 2, "ZODB.POSException.StorageError", "disk full\x1b[31m");
        c = open_client(f);
        register_ok(f, c);
        assert_int_equal(zeo_pack(c, 1.0, OK_MS, &err), -EREMOTEIO);
        assert_non_null(strstr(err.msg, "pack failed: ZODB.POSException.StorageError: disk full?[31m"));
        zeo_close(c);
}

/* An exception pickled as an object (GLOBAL + REDUCE), as older servers may send it. */
static void test_exception_object_reply(void **state)
{
        static const char msg[] = "\x80\x03(K\x02K\x02X\x06\x00\x00\x00.reply"
                                  "cZODB.POSException\nReadOnlyError\nX\x09\x00\x00\x00read only\x85R" "t.";
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };
        struct zeo_client *c;

        put_recorded(f, &f->pack, 0);
        put_recorded(f, &f->pack, 3);
        put_frame(f->server, msg, sizeof(msg) - 1);
        c = open_client(f);
        register_ok(f, c);
        assert_int_equal(zeo_pack(c, 1.0, OK_MS, &err), -EREMOTEIO);
        assert_non_null(strstr(err.msg, "ZODB.POSException.ReadOnlyError: read only"));
        zeo_close(c);
}

/* info, invalidateTransaction and unknown async messages may come before any reply. */
static void test_async_messages_tolerated(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };
        struct zeo_info info = { 0 };
        struct zeo_client *c;

        put_recorded(f, &f->pack, 0);
        put_invalidation(f->server);
        put_recorded(f, &f->pack, 7); /* info */
        put_message(f->server, 0, 1, "receiveBlobStart");
        put_recorded(f, &f->pack, 3); /* register reply */
        put_invalidation(f->server);
        put_recorded(f, &f->pack, 5); /* get_info reply */
        put_invalidation(f->server);
        put_recorded(f, &f->pack, 7);
        put_invalidation(f->server);
        put_recorded(f, &f->pack, 8); /* pack reply */
        c = open_client(f);
        register_ok(f, c);
        assert_true(zeo_last_info(c, &info));
        assert_int_equal(zeo_get_info(c, OK_MS, &info, &err), 0);
        assert_int_equal(info.size, 2059566);
        assert_int_equal(zeo_pack(c, 1.0, OK_MS, &err), 0);
        assert_true(zeo_last_info(c, &info));
        assert_int_equal(info.size, 10301);
        zeo_close(c);
}

/* An invalidation listing more oids than PICKLE_MAX_VALUES is skipped, not decoded. */
static void test_huge_invalidation_is_skipped(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };
        struct pickle_enc e = PICKLE_ENC_INIT;
        struct zeo_client *c;
        uint8_t *out;
        size_t n, i, noids = PICKLE_MAX_VALUES + 10;
        pid_t pid;

        pickle_enc_proto(&e);
        pickle_enc_tuple_begin(&e, 4);
        pickle_enc_int(&e, 0);
        pickle_enc_bool(&e, true);
        pickle_enc_str(&e, "invalidateTransaction", 21);
        pickle_enc_tuple_begin(&e, 2);
        pickle_enc_bytes(&e, "\x04\r/\x86\x33\xa5\xd4\x67", 8);
        pickle_enc_tuple_begin(&e, noids);
        for (i = 0; i < noids; i++)
                pickle_enc_bytes(&e, "\0\0\0\0\0\0\0\1", 8);
        pickle_enc_tuple_end(&e, noids);
        pickle_enc_tuple_end(&e, 2);
        pickle_enc_tuple_end(&e, 4);
        assert_int_equal(pickle_enc_finish(&e, &out, &n), 0);
        {
                struct pickle_doc *doc = NULL;

                assert_int_equal(pickle_decode(out, n, &doc, NULL), -E2BIG); /* too big to decode */
        }
        /* More than a socket buffer: a child writes it. */
        put_recorded(f, &f->pack, 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                put_frame(f->server, out, n);
                put_recorded(f, &f->pack, 3);
                _exit(0);
        }
        free(out);
        c = open_client(f);
        assert_int_equal(zeo_register(c, "1", true, OK_MS, &err), 0);
        zeo_close(c);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
}

/* An info that came before pack() does not count as the size after it. */
static void test_info_before_pack_is_not_the_outcome(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };
        struct zeo_info info = { 0 };
        struct zeo_client *c;

        put_recorded(f, &f->pack, 0);
        put_recorded(f, &f->pack, 7); /* info */
        put_recorded(f, &f->pack, 3); /* register reply */
        put_recorded(f, &f->pack, 5); /* get_info reply, msgid 2 */
        put_message(f->server, 3, 0, ".reply"); /* pack reply (None), no info with it */
        c = open_client(f);
        register_ok(f, c);
        assert_true(zeo_last_info(c, &info));
        assert_int_equal(zeo_get_info(c, OK_MS, &info, &err), 0);
        assert_int_equal(zeo_pack(c, 1.0, OK_MS, &err), 0);
        assert_false(zeo_last_info(c, &info));
        zeo_close(c);
}

static void test_greeting_m5_answered_with_z5(void **state)
{
        struct fixture *f = *state;
        struct zeo_client *c;
        uint8_t sent[16];

        put_frame(f->server, "M5", 2);
        c = open_client(f);
        assert_string_equal(zeo_server_protocol(c), "M5");
        assert_int_equal(drain(f->server, sent, sizeof(sent)), 6);
        assert_memory_equal(sent, "\0\0\0\2Z5", 6);
        zeo_close(c);
}

static void test_greeting_zeo4_says_use_command(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };
        uint8_t sent[16];

        put_frame(f->server, "Z4", 2);
        assert_int_equal(open_fails(f, &err), -EPROTONOSUPPORT);
        assert_non_null(strstr(err.msg, "ZEO 4 server"));
        assert_non_null(strstr(err.msg, "\"command\""));
        assert_int_equal(drain(f->server, sent, sizeof(sent)), 0); /* nothing answered */
}

static void test_greeting_zeo3_says_use_command(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };

        put_frame(f->server, "Z3101", 5);
        assert_int_equal(open_fails(f, &err), -EPROTONOSUPPORT);
        assert_non_null(strstr(err.msg, "Z3101"));
        assert_non_null(strstr(err.msg, "ZEO 3 server"));
        assert_non_null(strstr(err.msg, "zodb_pack.method"));
}

static void test_greeting_unknown_rejected(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };

        put_frame(f->server, "Z6", 2);
        assert_int_equal(open_fails(f, &err), -EPROTO);
        assert_non_null(strstr(err.msg, "not a ZEO 5 protocol"));
}

static void test_greeting_binary_rejected(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };

        put_frame(f->server, "\x80\x03N.", 4);
        assert_int_equal(open_fails(f, &err), -EPROTO);
}

/* Crossing ZEO_MAX_GREETING: refused on the length alone. */
static void test_greeting_too_long(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };
        char g[ZEO_MAX_GREETING + 1];

        memset(g, 'Z', sizeof(g));
        put_frame(f->server, g, sizeof(g));
        assert_int_equal(open_fails(f, &err), -EMSGSIZE);
}

/* Something that is not ZEO at all (an HTTP server): its first bytes read as a huge length. */
static void test_garbage_instead_of_greeting(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };

        put_raw(f->server, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
        assert_int_equal(open_fails(f, &err), -EMSGSIZE);
        assert_non_null(strstr(err.msg, "not a ZEO server"));
}

/* Crossing ZEO_MAX_FRAME: refused before anything is allocated or read. */
static void test_absurd_frame_length(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };
        struct zeo_client *c;
        uint32_t len = ZEO_MAX_FRAME + 1;
        uint8_t hdr[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };

        put_recorded(f, &f->pack, 0);
        put_raw(f->server, hdr, 4);
        c = open_client(f);
        assert_int_equal(zeo_register(c, "1", true, OK_MS, &err), -EMSGSIZE);
        assert_non_null(strstr(err.msg, "16777217 bytes"));
        zeo_close(c);
}

static void test_absurd_frame_length_max(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };
        struct zeo_client *c;

        put_recorded(f, &f->pack, 0);
        put_raw(f->server, "\xff\xff\xff\xff", 4);
        c = open_client(f);
        assert_int_equal(zeo_register(c, "1", true, OK_MS, &err), -EMSGSIZE);
        zeo_close(c);
}

static void test_garbage_reply(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };
        struct zeo_client *c;

        put_recorded(f, &f->pack, 0);
        put_frame(f->server, "\x80\x03(K\x01\xde\xad\xbe\xef", 9);
        c = open_client(f);
        assert_int_equal(zeo_register(c, "1", true, OK_MS, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "unreadable message"));
        zeo_close(c);
}

static void test_reply_not_a_message(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };
        struct zeo_client *c;

        put_recorded(f, &f->pack, 0);
        put_frame(f->server, "\x80\x03N.", 4);
        c = open_client(f);
        assert_int_equal(zeo_register(c, "1", true, OK_MS, &err), -EPROTO);
        zeo_close(c);
}

static void test_reply_to_another_call(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };
        struct zeo_client *c;

        put_recorded(f, &f->pack, 0);
        put_recorded(f, &f->pack, 8); /* reply to call 3 */
        c = open_client(f);
        assert_int_equal(zeo_register(c, "1", true, OK_MS, &err), -EPROTO);
        assert_non_null(strstr(err.msg, "replied to call 3"));
        zeo_close(c);
}

static void test_reply_with_unknown_flag(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };
        struct zeo_client *c;

        put_recorded(f, &f->pack, 0);
        put_message(f->server, 1, 5, ".reply");
        c = open_client(f);
        assert_int_equal(zeo_register(c, "1", true, OK_MS, &err), -EPROTO);
        zeo_close(c);
}

static void test_get_info_not_a_dict(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };
        struct zeo_info info;
        struct zeo_client *c;

        put_recorded(f, &f->pack, 0);
        put_recorded(f, &f->pack, 3);
        put_message(f->server, 2, 0, ".reply");
        c = open_client(f);
        register_ok(f, c);
        assert_int_equal(zeo_get_info(c, OK_MS, &info, &err), -EPROTO);
        zeo_close(c);
}

static void test_close_mid_pack(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };
        struct zeo_client *c;

        put_recorded(f, &f->pack, 0);
        put_recorded(f, &f->pack, 3);
        put_recorded(f, &f->pack, 7);
        shutdown(f->server, SHUT_WR);
        c = open_client(f);
        register_ok(f, c);
        assert_int_equal(zeo_pack(c, 1.0, -1, &err), -ECONNRESET);
        assert_non_null(strstr(err.msg, "closed the connection"));
        zeo_close(c);
}

/* A partial frame, then silence. */
static void test_pack_timeout(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };
        struct zeo_client *c;

        put_recorded(f, &f->pack, 0);
        put_recorded(f, &f->pack, 3);
        put_raw(f->server, "\0\0\0\x15\x80\x03", 6);
        c = open_client(f);
        register_ok(f, c);
        assert_int_equal(zeo_pack(c, 1.0, SHORT_MS, &err), -ETIMEDOUT);
        /* The client says how long it waited; the recipe adds which setting set the limit. */
        assert_non_null(strstr(err.msg, "no reply to pack() within 0."));
        zeo_close(c);
}

static void test_handshake_timeout(void **state)
{
        struct fixture *f = *state;
        struct zeo_error err = { 0, "" };

        assert_int_equal(open_fails(f, &err), -ETIMEDOUT);
        assert_non_null(strstr(err.msg, "greeting"));
}

/* ---- addresses ---- */

static void test_bad_addresses(void **state)
{
        const char *bad[] = { "nohostport", "host:", ":8100", "[::1]8100", "[::1", "h:99999", "h:0", "h:80a",
                              "a:b:c", "relative/path.sock" };
        struct zeo_error err = { 0, "" };
        struct zeo_client *c = NULL;
        char longpath[200];
        size_t i;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(zeo_connect(bad[i], SHORT_MS, NULL, NULL, &c, &err), -EINVAL);
                assert_non_null(strstr(err.msg, bad[i]));
        }
        {
                char longaddr[ZEO_MAX_ADDRESS + 2];

                /* exactly the limit: accepted, then refused as a Unix socket path */
                memset(longaddr, 'a', sizeof(longaddr));
                longaddr[0] = '/';
                longaddr[ZEO_MAX_ADDRESS] = '\0';
                assert_int_equal(zeo_connect(longaddr, SHORT_MS, NULL, NULL, &c, &err), -ENAMETOOLONG);
                longaddr[ZEO_MAX_ADDRESS] = 'a'; /* one past */
                longaddr[ZEO_MAX_ADDRESS + 1] = '\0';
                assert_int_equal(zeo_connect(longaddr, SHORT_MS, NULL, NULL, &c, &err), -EINVAL);
                assert_non_null(strstr(err.msg, "longer than"));
        }
        memset(longpath, 'a', sizeof(longpath));
        longpath[0] = '/';
        longpath[sizeof(longpath) - 1] = '\0';
        assert_int_equal(zeo_connect(longpath, SHORT_MS, NULL, NULL, &c, &err), -ENAMETOOLONG);
        assert_null(c);
}

static void test_connect_refused_and_missing_socket(void **state)
{
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sin);
        struct zeo_error err = { 0, "" };
        struct zeo_client *c = NULL;
        char addr[64];
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
        close(fd); /* the port is now closed */
        snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sin.sin_port));
        assert_int_equal(zeo_connect(addr, OK_MS, NULL, NULL, &c, &err), -ECONNREFUSED);
        assert_non_null(strstr(err.msg, addr));
        assert_int_equal(zeo_connect("/nonexistent/zeo.sock", SHORT_MS, NULL, NULL, &c, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "/nonexistent/zeo.sock"));
        assert_null(c);
}

/* A TCP listener on ADDR (network order, port 0: any) with a full accept queue: a further
 * connect is never answered (the kernel drops its SYN). Fills *SIN with where it listens. */
static int silent_listener(in_addr_t addr, struct sockaddr_in *sin, int filler[2])
{
        socklen_t sl = sizeof(*sin);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        *sin = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = addr };
        assert_int_equal(bind(fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
        assert_int_equal(listen(fd, 0), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)sin, &sl), 0);
        /* listen(0) queues one connection: two fill it (the second waits half-open). */
        for (int i = 0; i < 2; i++) {
                filler[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                (void)connect(filler[i], (struct sockaddr *)sin, sizeof(*sin));
        }
        return fd;
}

/* A name with two addresses, the first never answering: the second is still tried within the
 * connect timeout (each address gets its share of it), and gets keepalive and no Nagle. */
static void test_next_address_after_a_silent_one(void **state)
{
        struct sockaddr_in silent, live = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000002) };
        struct addrinfo a2 = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM, .ai_addrlen = sizeof(live),
                               .ai_addr = (struct sockaddr *)&live };
        struct addrinfo a1 = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM, .ai_addrlen = sizeof(silent),
                               .ai_addr = (struct sockaddr *)&silent, .ai_next = &a2 };
        int filler[2], sfd = silent_listener(htonl(INADDR_LOOPBACK), &silent, filler);
        int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), fd, on = 0, idle = 0;
        socklen_t sl = sizeof(live), ol = sizeof(on);
        struct timespec t0, t1;

        assert_int_equal(bind(lfd, (struct sockaddr *)&live, sizeof(live)), 0);
        assert_int_equal(listen(lfd, 4), 0);
        assert_int_equal(getsockname(lfd, (struct sockaddr *)&live, &sl), 0);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        fd = zeo_connect_first(&a1, (int64_t)t0.tv_sec * 1000 + t0.tv_nsec / 1000000 + 4000);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_true(fd >= 0);
        assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, &ol), 0);
        assert_int_equal(on, 1);
        assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, &ol), 0);
        assert_int_equal(idle, ZEO_KEEPALIVE_IDLE_S);
        (void)t1;
        close(fd);
        close(lfd);
        close(sfd);
        close(filler[0]);
        close(filler[1]);
}

/* A listener that never greets: TCP and Unix connect, then the greeting times out. */
static void test_connect_then_no_greeting(void **state)
{
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        socklen_t sl = sizeof(sin);
        struct zeo_error err = { 0, "" };
        struct zeo_client *c = NULL;
        char addr[64], dir[] = "/tmp/test_zeo.XXXXXX";
        int fd = socket(AF_INET, SOCK_STREAM, 0), ufd = socket(AF_UNIX, SOCK_STREAM, 0);

        assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
        assert_int_equal(listen(fd, 4), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
        snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sin.sin_port));
        assert_int_equal(zeo_connect(addr, SHORT_MS, NULL, NULL, &c, &err), -ETIMEDOUT);
        assert_non_null(strstr(err.msg, "greeting"));

        assert_non_null(mkdtemp(dir));
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/zeo.sock", dir);
        assert_int_equal(bind(ufd, (struct sockaddr *)&sun, sizeof(sun)), 0);
        assert_int_equal(listen(ufd, 4), 0);
        assert_int_equal(zeo_connect(sun.sun_path, SHORT_MS, NULL, NULL, &c, &err), -ETIMEDOUT);
        assert_non_null(strstr(err.msg, "greeting"));
        assert_null(c);
        close(fd);
        close(ufd);
        unlink(sun.sun_path);
        rmdir(dir);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_client_frames_equal_recording),
                T(test_client_frame_equals_memo_recording_without_binput),
                T(test_replay_pack_session),
                T(test_unknown_storage),
                T(test_already_packing),
                T(test_other_exception_names_class_and_message),
                T(test_exception_object_reply),
                T(test_async_messages_tolerated),
                T(test_huge_invalidation_is_skipped),
                T(test_info_before_pack_is_not_the_outcome),
                T(test_greeting_m5_answered_with_z5),
                T(test_greeting_zeo4_says_use_command),
                T(test_greeting_zeo3_says_use_command),
                T(test_greeting_unknown_rejected),
                T(test_greeting_binary_rejected),
                T(test_greeting_too_long),
                T(test_garbage_instead_of_greeting),
                T(test_absurd_frame_length),
                T(test_absurd_frame_length_max),
                T(test_garbage_reply),
                T(test_reply_not_a_message),
                T(test_reply_to_another_call),
                T(test_reply_with_unknown_flag),
                T(test_get_info_not_a_dict),
                T(test_close_mid_pack),
                T(test_pack_timeout),
                T(test_handshake_timeout),
                T(test_bad_addresses),
                T(test_connect_refused_and_missing_socket),
                T(test_connect_then_no_greeting),
                T(test_next_address_after_a_silent_one),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
