/* A minimal ZEO 5 client: connect over TCP or a Unix socket, handshake, register a storage,
 * read its size and pack it. One connection, one call at a time, poll(2) with deadlines, no
 * threads. Every message is a 4-byte big-endian length and a pickle (pickle.h); frames longer
 * than ZEO_MAX_FRAME are refused before anything is allocated. The server's asynchronous
 * messages (info, invalidateTransaction, ...) are accepted while a reply is awaited. */
#ifndef ZODB_PACK_ZEO_H
#define ZODB_PACK_ZEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZEO_MAX_FRAME     (16u << 20) /* largest message accepted from a server */
#define ZEO_MAX_GREETING  64u         /* largest greeting (protocol id) accepted */
#define ZEO_MAX_ADDRESS   512u        /* longest address string */
#define ZEO_KEEPALIVE_IDLE_S 60       /* TCP keepalive: probes after this much silence, */
#define ZEO_KEEPALIVE_INTERVAL_S 10   /* this far apart, */
#define ZEO_KEEPALIVE_COUNT 6         /* this many unanswered before the connection is dead */

struct zeo_error {
        int code;       /* negative errno */
        char msg[768];  /* names the server and, where there is one, what to do */
};

/* What the server said about a storage (get_info() or an `info` message). */
struct zeo_info {
        bool has_size;
        int64_t size;   /* bytes */
        bool has_length;
        int64_t length; /* objects */
};

/* Log sink for what happens on the wire (async messages...); may be NULL. */
typedef void (*zeo_log_fn)(void *userdata, int level, const char *msg);

struct zeo_client;

/* Connects to ADDRESS ("HOST:PORT", "[V6]:PORT" or an absolute Unix socket path), reads the
 * greeting and answers Z5, all within TIMEOUT_MS (< 0: none). *ret: caller frees with
 * zeo_close(). Errors: -EINVAL bad address, connect(2)'s errno, -ETIMEDOUT, -EPROTONOSUPPORT
 * for a ZEO 4/3 server (the message says to use method "command"), -EPROTO for anything that
 * is not a ZEO 5 greeting, -EMSGSIZE for an absurd greeting length. */
/* The same for the Unix socket FD (an O_PATH descriptor of it, opened beneath the root: no
 * link on the way followed), named SHOWN in messages. FD stays the caller's. */
int zeo_connect_unix_fd(int fd, const char *shown, int timeout_ms, zeo_log_fn log, void *userdata,
                        struct zeo_client **ret, struct zeo_error *err);
int zeo_connect(const char *address, int timeout_ms, zeo_log_fn log, void *userdata,
                struct zeo_client **ret, struct zeo_error *err);
/* The same over an already connected socket FD (taken over: zeo_close() closes it). NAME is
 * used in messages. */
/* Connects to the first of LIST's addresses that answers before DEADLINE (CLOCK_MONOTONIC ms,
 * -1: none), each given its share of the time left; TCP sockets get keepalive and no Nagle.
 * The fd, or the last address's -errno. (zeo_connect() resolves and calls it; tests too.) */
struct addrinfo;
int zeo_connect_first(const struct addrinfo *list, int64_t deadline);

int zeo_open_fd(int fd, const char *name, int timeout_ms, zeo_log_fn log, void *userdata,
                struct zeo_client **ret, struct zeo_error *err);
void zeo_close(struct zeo_client *c); /* NULL is fine */

/* The greeting the server sent ("Z5" or "M5"). */
const char *zeo_server_protocol(const struct zeo_client *c);

/* register(STORAGE, READ_ONLY) and waits for the reply. -ENOENT when the server has no such
 * storage, -EREMOTEIO for another exception reply, -ETIMEDOUT, -ECONNRESET when the server
 * closes, -EPROTO/-EBADMSG/-EMSGSIZE for garbage. */
int zeo_register(struct zeo_client *c, const char *storage, bool read_only, int timeout_ms,
                 struct zeo_error *err);
/* get_info(): fills *ret with the size and object count it reports (when present). */
int zeo_get_info(struct zeo_client *c, int timeout_ms, struct zeo_info *ret, struct zeo_error *err);
/* pack(T, True): T is a Unix time (seconds); returns when the server replies, i.e. when the
 * pack is done, or after TIMEOUT_MS (< 0: wait for ever). -EBUSY when the server is already
 * packing this storage, -EREMOTEIO for another exception reply, others as zeo_register(). */
int zeo_pack(struct zeo_client *c, double t, int timeout_ms, struct zeo_error *err);
/* The latest `info` message received while waiting for the last zeo_pack() (or, before any
 * pack, since the connection opened); false when none came. The server sends one with the
 * storage's new size just before the pack's reply. */
bool zeo_last_info(const struct zeo_client *c, struct zeo_info *ret);

/* Encodes the message (MSGID, False, NAME, ARGS...) as ZEO's client pickles it, for tests:
 * the frame without its length prefix. Exposed so tests compare it with recorded frames. */
int zeo_encode_register(uint32_t msgid, const char *storage, bool read_only, uint8_t **ret,
                        size_t *ret_len);
int zeo_encode_get_info(uint32_t msgid, uint8_t **ret, size_t *ret_len);
int zeo_encode_pack(uint32_t msgid, double t, uint8_t **ret, size_t *ret_len);

#endif
