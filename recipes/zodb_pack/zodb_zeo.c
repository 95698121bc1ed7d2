/* A minimal ZEO 5 client (see zeo.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "zodb_pickle.h"
#include "zodb_zeo.h"

#define ZEO_READ_BUFFER 65536u

struct zeo_client {
        int fd;
        char name[ZEO_MAX_ADDRESS + 1];
        char protocol[ZEO_MAX_GREETING + 1];
        uint32_t next_msgid;
        bool has_info;
        struct zeo_info info;
        zeo_log_fn log;
        void *userdata;
        /* Received bytes not consumed yet: a burst of small async messages costs one read(2). */
        size_t rpos;
        size_t rlen;
        uint8_t rbuf[ZEO_READ_BUFFER];
};

static int set_err(struct zeo_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int set_err(struct zeo_error *err, int code, const char *fmt, ...)
{
        va_list ap;

        if (err) {
                err->code = code;
                va_start(ap, fmt);
                vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
                va_end(ap);
        }
        return code;
}

static void logf_(struct zeo_client *c, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void logf_(struct zeo_client *c, int level, const char *fmt, ...)
{
        char line[512];
        va_list ap;

        if (!c->log)
                return;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        c->log(c->userdata, level, line);
}

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Absolute deadline for TIMEOUT_MS (< 0: none, -1). */
static int64_t deadline_of(int timeout_ms)
{
        return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Waits for EVENTS on FD until DEADLINE. 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
        struct pollfd p = { .fd = fd, .events = events };
        int r;

        for (;;) {
                int ms = -1;

                if (deadline >= 0) {
                        int64_t left = deadline - now_ms();

                        if (left <= 0)
                                return -ETIMEDOUT;
                        ms = left > INT_MAX ? INT_MAX : (int)left;
                }
                r = poll(&p, 1, ms);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r > 0)
                        return 0; /* readable, writable, or an error read()/send() will report */
        }
}

static int write_all(struct zeo_client *c, const uint8_t *p, size_t n, int64_t deadline)
{
        int r;

        while (n > 0) {
                ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);

                if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        r = wait_fd(c->fd, POLLOUT, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                p += k;
                n -= (size_t)k;
        }
        return 0;
}

/* Reads exactly N bytes, through the receive buffer. -ECONNRESET when the server closes first. */
static int read_all(struct zeo_client *c, uint8_t *p, size_t n, int64_t deadline)
{
        int r;

        while (n > 0) {
                ssize_t k;

                if (c->rpos < c->rlen) {
                        size_t take = c->rlen - c->rpos < n ? c->rlen - c->rpos : n;

                        memcpy(p, c->rbuf + c->rpos, take);
                        c->rpos += take;
                        p += take;
                        n -= take;
                        continue;
                }
                /* Buffer empty: big reads go straight to P, small ones fill the buffer. */
                if (n >= sizeof(c->rbuf))
                        k = read(c->fd, p, n);
                else
                        k = read(c->fd, c->rbuf, sizeof(c->rbuf));
                if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        r = wait_fd(c->fd, POLLIN, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -ECONNRESET;
                if (n >= sizeof(c->rbuf)) {
                        p += k;
                        n -= (size_t)k;
                } else {
                        c->rpos = 0;
                        c->rlen = (size_t)k;
                }
        }
        return 0;
}

static int send_frame(struct zeo_client *c, const uint8_t *data, size_t len, int64_t deadline,
                      const char *what, struct zeo_error *err)
{
        uint8_t *msg;
        int r;

        /* Length and payload in one write: one segment for small messages. */
        msg = malloc(4 + len);
        if (!msg)
                return set_err(err, -ENOMEM, "out of memory sending %s", what);
        msg[0] = (uint8_t)(len >> 24);
        msg[1] = (uint8_t)(len >> 16);
        msg[2] = (uint8_t)(len >> 8);
        msg[3] = (uint8_t)len;
        memcpy(msg + 4, data, len);
        r = write_all(c, msg, 4 + len, deadline);
        free(msg);
        if (r == -ETIMEDOUT)
                return set_err(err, r, "ZEO server at %s: timed out sending %s", c->name, what);
        if (r < 0)
                return set_err(err, r, "ZEO server at %s: cannot send %s: %s", c->name, what, strerror(-r));
        return 0;
}

/* Reads one frame of at most MAX bytes. *ret: caller frees. */
static int recv_frame(struct zeo_client *c, size_t max, int64_t deadline, const char *what,
                      uint8_t **ret, size_t *ret_len, struct zeo_error *err)
{
        uint8_t hdr[4], *data = NULL;
        uint32_t len;
        int r;

        r = read_all(c, hdr, 4, deadline);
        if (r < 0)
                goto io_error;
        len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
        if (len > max)
                return set_err(err, -EMSGSIZE,
                               "ZEO server at %s: %s announced as %" PRIu32 " bytes (limit %zu): "
                               "not a ZEO server, or a broken one", c->name, what, len, max);
        data = malloc(len ? len : 1);
        if (!data)
                return set_err(err, -ENOMEM, "out of memory reading %s", what);
        r = read_all(c, data, len, deadline);
        if (r < 0) {
                free(data);
                goto io_error;
        }
        *ret = data;
        *ret_len = len;
        return 0;
io_error:
        if (r == -ETIMEDOUT)
                return set_err(err, r, "ZEO server at %s: timed out waiting for %s", c->name, what);
        if (r == -ECONNRESET)
                return set_err(err, r, "ZEO server at %s closed the connection while we waited for %s",
                               c->name, what);
        return set_err(err, r, "ZEO server at %s: reading %s: %s", c->name, what, strerror(-r));
}

static int handshake(struct zeo_client *c, int64_t deadline, struct zeo_error *err)
{
        static const uint8_t z5[2] = { 'Z', '5' };
        uint8_t *g = NULL;
        size_t n, i;
        int r;

        r = recv_frame(c, ZEO_MAX_GREETING, deadline, "the server's greeting", &g, &n, err);
        if (r < 0)
                return r;
        for (i = 0; i < n; i++)
                if (g[i] < 0x21 || g[i] > 0x7e) {
                        free(g);
                        return set_err(err, -EPROTO,
                                       "%s did not greet like a ZEO server (binary greeting of %zu bytes): "
                                       "check zodb_pack.servers[].address", c->name, n);
                }
        memcpy(c->protocol, g, n);
        c->protocol[n] = '\0';
        free(g);
        if (strcmp(c->protocol, "Z4") == 0 || strncmp(c->protocol, "Z3", 2) == 0)
                return set_err(err, -EPROTONOSUPPORT,
                               "ZEO server at %s greeted with %s: it is a ZEO %s server, and opsagent "
                               "speaks ZEO 5 only: set zodb_pack.method to \"command\" and "
                               "zodb_pack.command to the site's zeopack (e.g. [\"/srv/plone/bin/zeopack\"])",
                               c->name, c->protocol, c->protocol[1] == '4' ? "4" : "3");
        if (strcmp(c->protocol, "Z5") != 0 && strcmp(c->protocol, "M5") != 0)
                return set_err(err, -EPROTO,
                               "%s greeted with \"%s\", not a ZEO 5 protocol (Z5 or M5): check "
                               "zodb_pack.servers[].address", c->name, c->protocol);
        /* Answering Z5 makes even an M5 (msgpack) server talk pickle to us. */
        r = send_frame(c, z5, sizeof(z5), deadline, "the protocol answer", err);
        if (r < 0)
                return r;
        logf_(c, LOG_DEBUG, "ZEO server at %s speaks %s", c->name, c->protocol);
        return 0;
}

int zeo_open_fd(int fd, const char *name, int timeout_ms, zeo_log_fn log, void *userdata,
                struct zeo_client **ret, struct zeo_error *err)
{
        struct zeo_client *c;
        int flags, r;

        c = calloc(1, sizeof(*c));
        if (!c) {
                close(fd);
                return set_err(err, -ENOMEM, "out of memory");
        }
        c->fd = fd;
        c->next_msgid = 1;
        c->log = log;
        c->userdata = userdata;
        snprintf(c->name, sizeof(c->name), "%s", name);
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
                r = set_err(err, -errno, "%s: cannot make the socket non-blocking: %s", name, strerror(errno));
                goto fail;
        }
        r = handshake(c, deadline_of(timeout_ms), err);
        if (r < 0)
                goto fail;
        *ret = c;
        return 0;
fail:
        zeo_close(c);
        return r;
}

void zeo_close(struct zeo_client *c)
{
        if (!c)
                return;
        if (c->fd >= 0)
                close(c->fd);
        free(c);
}

const char *zeo_server_protocol(const struct zeo_client *c)
{
        return c->protocol;
}

/* Connects a non-blocking socket to SA within DEADLINE. Returns the fd or -errno. */
static int connect_one(int family, const struct sockaddr *sa, socklen_t salen, int64_t deadline)
{
        int fd, r, soerr = 0;
        socklen_t sl = sizeof(soerr);

        fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, sa, salen) == 0)
                return fd;
        if (errno != EINPROGRESS && errno != EAGAIN) {
                r = -errno;
                goto fail;
        }
        r = wait_fd(fd, POLLOUT, deadline);
        if (r < 0)
                goto fail;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
                r = -errno;
                goto fail;
        }
        if (soerr != 0) {
                r = -soerr;
                goto fail;
        }
        return fd;
fail:
        close(fd);
        return r;
}

/* Calls are small request/reply messages: no Nagle delay. A pack may wait for hours with
 * nothing on the wire: keepalive probes notice a server host that vanished without a reset
 * (after ZEO_KEEPALIVE_IDLE_S + ZEO_KEEPALIVE_COUNT * ZEO_KEEPALIVE_INTERVAL_S). */
static void set_tcp_options(int fd)
{
        int one = 1, idle = ZEO_KEEPALIVE_IDLE_S, intvl = ZEO_KEEPALIVE_INTERVAL_S, cnt = ZEO_KEEPALIVE_COUNT;

        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

int zeo_connect_first(const struct addrinfo *list, int64_t deadline)
{
        size_t n = 0;
        int fd = -EHOSTUNREACH;

        for (const struct addrinfo *ai = list; ai; ai = ai->ai_next)
                n++;
        for (const struct addrinfo *ai = list; ai; ai = ai->ai_next, n--) {
                /* Each address gets its share of the time left, so that one that never answers
                 * leaves time for the next. */
                int64_t share = deadline;

                if (deadline >= 0 && n > 1) {
                        int64_t left = deadline - now_ms();

                        share = now_ms() + (left > 0 ? left / (int64_t)n : 0);
                }
                fd = connect_one(ai->ai_family, ai->ai_addr, ai->ai_addrlen, share);
                if (fd >= 0) {
                        set_tcp_options(fd);
                        break;
                }
        }
        return fd;
}

/* A Unix socket at SUN_PATH, named SHOWN in messages. */
static int connect_unix(const char *sun_path, const char *shown, int64_t deadline, struct zeo_error *err)
{
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(sun_path) >= sizeof(sun.sun_path))
                return set_err(err, -ENAMETOOLONG, "ZEO socket path %s is longer than %zu bytes: use a shorter path",
                               shown, sizeof(sun.sun_path) - 1);
        memcpy(sun.sun_path, sun_path, strlen(sun_path) + 1);
        fd = connect_one(AF_UNIX, (struct sockaddr *)&sun, sizeof(sun), deadline);
        if (fd == -ETIMEDOUT)
                return set_err(err, fd, "ZEO server at %s: connect timed out", shown);
        if (fd < 0)
                return set_err(err, fd, "cannot connect to the ZEO server at %s: %s", shown, strerror(-fd));
        return fd;
}

static int connect_address(const char *address, int64_t deadline, struct zeo_error *err)
{
        char host[ZEO_MAX_ADDRESS + 1];
        const char *port, *colon;
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
        struct addrinfo *res = NULL;
        size_t hl;
        int fd = -EINVAL, r;

        if (address[0] == '/')
                return connect_unix(address, address, deadline, err);
        if (address[0] == '[') {
                const char *end = strchr(address, ']');

                if (!end || end[1] != ':')
                        goto bad;
                hl = (size_t)(end - address - 1);
                memcpy(host, address + 1, hl);
                port = end + 2;
        } else {
                colon = strrchr(address, ':');
                if (!colon || strchr(address, ':') != colon)
                        goto bad;
                hl = (size_t)(colon - address);
                memcpy(host, address, hl);
                port = colon + 1;
        }
        host[hl] = '\0';
        if (hl == 0 || port[0] == '\0' || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
            atoi(port) < 1 || atoi(port) > 65535)
                goto bad;
        r = getaddrinfo(host, port, &hints, &res);
        if (r != 0)
                return set_err(err, -EHOSTUNREACH, "cannot resolve the ZEO server's host %s: %s", host,
                               gai_strerror(r));
        fd = zeo_connect_first(res, deadline);
        freeaddrinfo(res);
        if (fd == -ETIMEDOUT)
                return set_err(err, fd, "ZEO server at %s: connect timed out", address);
        if (fd < 0)
                return set_err(err, fd, "cannot connect to the ZEO server at %s: %s", address, strerror(-fd));
        return fd;
bad:
        return set_err(err, -EINVAL,
                       "zodb_pack.servers[].address \"%s\" is neither HOST:PORT, [IPV6]:PORT nor an "
                       "absolute Unix socket path", address);
}

int zeo_connect_unix_fd(int fd, const char *shown, int timeout_ms, zeo_log_fn log, void *userdata,
                        struct zeo_client **ret, struct zeo_error *err)
{
        int64_t deadline = deadline_of(timeout_ms);
        char via[64];
        int sock, remaining = -1;

        /* The descriptor's magic link: connect(2) reaches the very socket that was opened. */
        snprintf(via, sizeof(via), "/proc/self/fd/%d", fd);
        sock = connect_unix(via, shown, deadline, err);
        if (sock < 0)
                return sock;
        if (deadline >= 0) {
                int64_t left = deadline - now_ms();

                remaining = left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
        }
        return zeo_open_fd(sock, shown, remaining, log, userdata, ret, err);
}

int zeo_connect(const char *address, int timeout_ms, zeo_log_fn log, void *userdata,
                struct zeo_client **ret, struct zeo_error *err)
{
        int64_t deadline = deadline_of(timeout_ms);
        int fd, remaining;

        if (strlen(address) > ZEO_MAX_ADDRESS)
                return set_err(err, -EINVAL, "zodb_pack.servers[].address is longer than %u bytes",
                               ZEO_MAX_ADDRESS);
        fd = connect_address(address, deadline, err);
        if (fd < 0)
                return fd;
        remaining = -1;
        if (deadline >= 0) {
                int64_t left = deadline - now_ms();

                remaining = left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
        }
        return zeo_open_fd(fd, address, remaining, log, userdata, ret, err);
}

/* ---- messages ---- */

static void enc_head(struct pickle_enc *e, uint32_t msgid, const char *name)
{
        pickle_enc_proto(e);
        pickle_enc_tuple_begin(e, 4);
        pickle_enc_int(e, msgid);
        pickle_enc_bool(e, false);
        pickle_enc_str(e, name, strlen(name));
}

static int enc_tail(struct pickle_enc *e, uint8_t **ret, size_t *ret_len)
{
        pickle_enc_tuple_end(e, 4);
        return pickle_enc_finish(e, ret, ret_len);
}

int zeo_encode_register(uint32_t msgid, const char *storage, bool read_only, uint8_t **ret, size_t *ret_len)
{
        struct pickle_enc e = PICKLE_ENC_INIT;

        enc_head(&e, msgid, "register");
        pickle_enc_tuple_begin(&e, 2);
        pickle_enc_str(&e, storage, strlen(storage));
        /* ZEO's own client sends the read-only flag as an int (recorded: K 01). */
        pickle_enc_int(&e, read_only ? 1 : 0);
        pickle_enc_tuple_end(&e, 2);
        return enc_tail(&e, ret, ret_len);
}

int zeo_encode_get_info(uint32_t msgid, uint8_t **ret, size_t *ret_len)
{
        struct pickle_enc e = PICKLE_ENC_INIT;

        enc_head(&e, msgid, "get_info");
        pickle_enc_tuple_begin(&e, 0);
        pickle_enc_tuple_end(&e, 0);
        return enc_tail(&e, ret, ret_len);
}

int zeo_encode_pack(uint32_t msgid, double t, uint8_t **ret, size_t *ret_len)
{
        struct pickle_enc e = PICKLE_ENC_INIT;

        enc_head(&e, msgid, "pack");
        pickle_enc_tuple_begin(&e, 2);
        pickle_enc_float(&e, t);
        pickle_enc_bool(&e, true); /* wait: reply when the pack is done */
        pickle_enc_tuple_end(&e, 2);
        return enc_tail(&e, ret, ret_len);
}

static void read_info(const struct pickle_value *d, struct zeo_info *info)
{
        int64_t v;

        if (pickle_get_int(pickle_dict_get(d, "size"), &v)) {
                info->has_size = true;
                info->size = v;
        }
        if (pickle_get_int(pickle_dict_get(d, "length"), &v)) {
                info->has_length = true;
                info->length = v;
        }
}

/* A server-initiated message (msgid 0): info, invalidateTransaction, and whatever else a newer
 * server may add; none of them needs an answer. */
static void handle_async(struct zeo_client *c, const char *name, const struct pickle_value *args)
{
        if (strcmp(name, "info") == 0) {
                const struct pickle_value *d = pickle_item(args, 0);
                struct zeo_info info = c->info;

                if (d && d->kind == PICKLE_DICT) {
                        read_info(d, &info);
                        c->info = info;
                        c->has_info = true;
                        logf_(c, LOG_DEBUG, "ZEO server at %s: info: size %" PRId64 " bytes, %" PRId64 " objects",
                              c->name, info.size, info.length);
                } else
                        logf_(c, LOG_DEBUG, "ZEO server at %s: ignoring an info message without a dict", c->name);
        } else if (strcmp(name, "invalidateTransaction") == 0)
                logf_(c, LOG_DEBUG, "ZEO server at %s: a transaction was committed meanwhile", c->name);
        else
                logf_(c, LOG_DEBUG, "ZEO server at %s: ignoring asynchronous %s message", c->name, name);
}

/* Class and message of an exception reply. Servers send (class name, args) tuples (ZEO 5/6);
 * a pickled exception object (REDUCE of a class) is understood too. */
static void exception_parts(const struct pickle_value *res, char *cls, size_t cls_size, char *msg,
                            size_t msg_size)
{
        const struct pickle_value *klass = NULL, *args = NULL, *first;

        if (res && res->kind == PICKLE_TUPLE && res->n == 2) {
                klass = res->items[0];
                args = res->items[1];
        } else if (res && res->kind == PICKLE_OBJECT) {
                klass = res->items[0];
                args = res->items[1];
        }
        if (klass && (klass->kind == PICKLE_STR || klass->kind == PICKLE_GLOBAL))
                snprintf(cls, cls_size, "%s", klass->data);
        else
                snprintf(cls, cls_size, "an unknown exception");
        first = args && args->kind == PICKLE_TUPLE && args->n == 1 ? args->items[0] : NULL;
        if (first && first->kind == PICKLE_STR)
                snprintf(msg, msg_size, "%s", first->data);
        else if (args && args->kind == PICKLE_TUPLE && args->n == 0)
                msg[0] = '\0';                /* ReadOnlyError(): the class says it all */
        else
                pickle_repr(args ? args : res, msg, msg_size);
        /* Never print control characters the server chose. */
        for (char *p = msg; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = '?';
        for (char *p = cls; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = '?';
}

/* Sends FRAME as call MSGID and waits for its reply, handling async messages meanwhile.
 * *ret_doc (caller frees) holds the reply; *ret_result points into it. Exception replies are
 * returned as -EREMOTEIO with the reply in *ret_doc and *ret_result too (for the caller to classify). */
static int call(struct zeo_client *c, const char *what, uint32_t msgid, uint8_t *frame, size_t len,
                int timeout_ms, struct pickle_doc **ret_doc, const struct pickle_value **ret_result,
                struct zeo_error *err)
{
        int64_t deadline = deadline_of(timeout_ms);
        struct pickle_doc *doc = NULL;
        char desc[96];
        int r;

        r = send_frame(c, frame, len, deadline, what, err);
        if (r < 0)
                return r;
        snprintf(desc, sizeof(desc), "the reply to %s", what);
        for (;;) {
                const struct pickle_value *msg, *vid, *vflag, *vname, *args;
                struct pickle_error perr;
                uint8_t *data = NULL;
                size_t n;
                int64_t id, flag;

                const char *pname;
                size_t pname_len;

                r = recv_frame(c, ZEO_MAX_FRAME, deadline, desc, &data, &n, err);
                if (r < 0)
                        return r;
                /* Invalidations can list many oids and we never read them: skip the decode. */
                if (pickle_peek_message(data, n, &id, &flag, &pname, &pname_len) == 0 && id == 0 &&
                    pname_len == 21 && memcmp(pname, "invalidateTransaction", 21) == 0) {
                        free(data);
                        handle_async(c, "invalidateTransaction", NULL);
                        continue;
                }
                r = pickle_decode(data, n, &doc, &perr);
                free(data);
                if (r < 0)
                        return set_err(err, r == -ENOMEM ? r : -EBADMSG,
                                       "ZEO server at %s sent an unreadable message while we waited for %s "
                                       "(pickle byte %zu: %s)", c->name, desc, perr.offset, perr.why);
                msg = pickle_doc_root(doc);
                vid = pickle_item(msg, 0);
                vflag = pickle_item(msg, 1);
                vname = pickle_item(msg, 2);
                args = pickle_item(msg, 3);
                if (msg->kind != PICKLE_TUPLE || msg->n != 4 || !pickle_get_int(vid, &id) ||
                    !pickle_get_int(vflag, &flag) || !vname || vname->kind != PICKLE_STR) {
                        char rep[160];

                        r = set_err(err, -EPROTO,
                                    "ZEO server at %s sent a message that is not (msgid, flag, name, args) "
                                    "while we waited for %s: %s", c->name, desc, pickle_repr(msg, rep, sizeof(rep)));
                        goto out;
                }
                if (strcmp(vname->data, ".reply") != 0) {
                        handle_async(c, vname->data, args);
                        pickle_doc_free(doc);
                        doc = NULL;
                        continue;
                }
                if (id != msgid) {
                        r = set_err(err, -EPROTO, "ZEO server at %s replied to call %" PRId64
                                    " while we waited for %s (call %" PRIu32 ")", c->name, id, desc, msgid);
                        goto out;
                }
                if (flag != 0 && flag != 2) {
                        r = set_err(err, -EPROTO, "ZEO server at %s sent %s with unknown flag %" PRId64,
                                    c->name, desc, flag);
                        goto out;
                }
                *ret_result = args;
                *ret_doc = doc;
                return flag == 2 ? -EREMOTEIO : 0;
        }
out:
        pickle_doc_free(doc);
        return r;
}

static int call_and_check(struct zeo_client *c, const char *what, uint8_t *frame, size_t len, int timeout_ms,
                          struct pickle_doc **ret_doc, const struct pickle_value **ret_result,
                          char *cls, size_t cls_size, char *emsg, size_t emsg_size, struct zeo_error *err)
{
        int r;

        r = call(c, what, c->next_msgid++, frame, len, timeout_ms, ret_doc, ret_result, err);
        if (r == -EREMOTEIO)
                exception_parts(*ret_result, cls, cls_size, emsg, emsg_size);
        return r;
}

int zeo_register(struct zeo_client *c, const char *storage, bool read_only, int timeout_ms, struct zeo_error *err)
{
        struct pickle_doc *doc = NULL;
        const struct pickle_value *res = NULL;
        uint8_t *frame = NULL;
        char cls[128], emsg[256], what[96];
        size_t len;
        int r;

        r = zeo_encode_register(c->next_msgid, storage, read_only, &frame, &len);
        if (r < 0) {
                r = set_err(err, r, "zodb_pack: storage name \"%s\" cannot be sent: %s", storage, strerror(-r));
                goto out;
        }
        snprintf(what, sizeof(what), "register('%.40s')", storage);
        r = call_and_check(c, what, frame, len, timeout_ms, &doc, &res, cls, sizeof(cls), emsg, sizeof(emsg), err);
        if (r == -EREMOTEIO) {
                if (strncmp(emsg, "unknown storage", 15) == 0)
                        r = set_err(err, -ENOENT,
                                    "ZEO server at %s has no storage \"%s\" (%s: %s): check "
                                    "zodb_pack.servers[].storages against the server's zeo.conf",
                                    c->name, storage, cls, emsg);
                else
                        r = set_err(err, r, "ZEO server at %s refused register(\"%s\"): %s%s%s", c->name,
                                    storage, cls, emsg[0] ? ": " : "", emsg);
        }
out:
        pickle_doc_free(doc);
        free(frame);
        return r;
}

int zeo_get_info(struct zeo_client *c, int timeout_ms, struct zeo_info *ret, struct zeo_error *err)
{
        struct pickle_doc *doc = NULL;
        const struct pickle_value *res = NULL;
        struct zeo_info info = { 0 };
        uint8_t *frame = NULL;
        char cls[128], emsg[256];
        size_t len;
        int r;

        r = zeo_encode_get_info(c->next_msgid, &frame, &len);
        if (r < 0) {
                r = set_err(err, r, "out of memory");
                goto out;
        }
        r = call_and_check(c, "get_info()", frame, len, timeout_ms, &doc, &res, cls, sizeof(cls), emsg,
                           sizeof(emsg), err);
        if (r == -EREMOTEIO)
                r = set_err(err, r, "ZEO server at %s: get_info() failed: %s%s%s", c->name, cls,
                            emsg[0] ? ": " : "", emsg);
        if (r < 0)
                goto out;
        if (!res || res->kind != PICKLE_DICT) {
                char rep[160];

                r = set_err(err, -EPROTO, "ZEO server at %s: get_info() returned %s, not a dict", c->name,
                            pickle_repr(res, rep, sizeof(rep)));
                goto out;
        }
        read_info(res, &info);
        *ret = info;
out:
        pickle_doc_free(doc);
        free(frame);
        return r;
}

int zeo_pack(struct zeo_client *c, double t, int timeout_ms, struct zeo_error *err)
{
        struct pickle_doc *doc = NULL;
        const struct pickle_value *res = NULL;
        uint8_t *frame = NULL;
        char cls[128], emsg[256];
        size_t len;
        int r;

        /* Only an `info` that arrives with the pack tells its outcome (zeo_last_info()). */
        c->has_info = false;
        r = zeo_encode_pack(c->next_msgid, t, &frame, &len);
        if (r < 0) {
                r = set_err(err, r, "out of memory");
                goto out;
        }
        r = call_and_check(c, "pack()", frame, len, timeout_ms, &doc, &res, cls, sizeof(cls), emsg,
                           sizeof(emsg), err);
        if (r == -EREMOTEIO) {
                if (strstr(emsg, "Already packing"))
                        r = set_err(err, -EBUSY,
                                    "ZEO server at %s is already packing this storage (%s: %s): another "
                                    "pack is running; let it finish", c->name, cls, emsg);
                else if (strstr(cls, "ReadOnlyError"))
                        r = set_err(err, r, "ZEO server at %s: pack refused: %s%s%s: the storage is "
                                    "read-only on the server (read-only = true in zeo.conf?)", c->name, cls,
                                    emsg[0] ? ": " : "", emsg);
                else
                        r = set_err(err, r, "ZEO server at %s: pack failed: %s%s%s", c->name, cls,
                                    emsg[0] ? ": " : "", emsg);
        } else if (r == -ETIMEDOUT)
                r = set_err(err, r, "ZEO server at %s: no reply to pack() within %.1f s; the server may still "
                            "be packing", c->name, timeout_ms / 1000.0);
out:
        pickle_doc_free(doc);
        free(frame);
        return r;
}

bool zeo_last_info(const struct zeo_client *c, struct zeo_info *ret)
{
        if (!c->has_info)
                return false;
        *ret = c->info;
        return true;
}
