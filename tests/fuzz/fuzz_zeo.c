/* Fuzz target: ZEO framing, what a ZEO server sends the zodb_pack recipe
 * (recipes/zodb_pack/zodb_zeo.c): the input is the server's side of a whole conversation,
 * length-prefixed frames back to back (greeting, the replies to register(), get_info() and
 * pack(), and any asynchronous message between them), fed through a socket pair that is then
 * closed. The client handshakes, registers storage "1", asks for its size and packs it, as the
 * recipe does; each call must end (the peer's close ends a short conversation) with a message. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "zodb_zeo.h"

#define TIMEOUT_MS 5000

static void log_fn(void *userdata, int level, const char *msg)
{
        (void)userdata;
        (void)level;
        (void)msg;
}

static void check_err(const struct zeo_error *err, int r)
{
        if (r < 0 && (err->code != r || !err->msg[0]))
                abort();        /* every failure says what happened */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct zeo_error err = { 0 };
        struct zeo_client *c = NULL;
        struct zeo_info info;
        size_t done = 0;
        int sv[2], r;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                abort();
        fcntl(sv[1], F_SETFL, O_NONBLOCK);
        /* As much as the socket holds (libFuzzer's inputs are smaller than that by default). */
        while (done < size) {
                ssize_t k = write(sv[1], data + done, size - done);

                if (k <= 0)
                        break;
                done += (size_t)k;
        }
        shutdown(sv[1], SHUT_WR);
        r = zeo_open_fd(sv[0], "fuzz", TIMEOUT_MS, log_fn, NULL, &c, &err);
        check_err(&err, r);
        if (r < 0)
                goto out;
        zeo_server_protocol(c);
        err = (struct zeo_error){ 0 };
        r = zeo_register(c, "1", false, TIMEOUT_MS, &err);
        check_err(&err, r);
        if (r < 0)
                goto out;
        err = (struct zeo_error){ 0 };
        r = zeo_get_info(c, TIMEOUT_MS, &info, &err);
        check_err(&err, r);
        err = (struct zeo_error){ 0 };
        r = zeo_pack(c, 1800000000.0, TIMEOUT_MS, &err);
        check_err(&err, r);
        zeo_last_info(c, &info);
out:
        zeo_close(c);
        close(sv[1]);
        return 0;
}
