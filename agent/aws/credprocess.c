#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "credprocess.h"
#include "shellwords.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/timeutil.h"

extern char **environ;

static int64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int credprocess_parse(const char *text, const char *what, struct aws_credentials *ret, struct error *err)
{
        json_object *o = json_tokener_parse(text), *v;
        const char *key = NULL, *secret = NULL, *token = NULL, *exp = NULL;
        struct aws_credentials c = { 0 };
        int64_t expiration = 0;
        int r;

        if (!o || !json_object_is_type(o, json_type_object)) {
                r = error_set(err, -EBADMSG, "%s: its output is not a JSON object", what);
                goto out;
        }
        /* The secrets first: nothing of this document may show anywhere. */
        if (json_object_object_get_ex(o, "SecretAccessKey", &v) && json_object_is_type(v, json_type_string))
                log_register_secret(secret = json_object_get_string(v));
        if (json_object_object_get_ex(o, "SessionToken", &v) && json_object_is_type(v, json_type_string))
                log_register_secret(token = json_object_get_string(v));
        if (!json_object_object_get_ex(o, "Version", &v) ||
            !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) ||
            json_object_get_double(v) != 1.0) {
                r = error_set(err, -EBADMSG, "%s: unsupported \"Version\" in its output (supported: 1)", what);
                goto out;
        }
        if (json_object_object_get_ex(o, "AccessKeyId", &v) && json_object_is_type(v, json_type_string))
                key = json_object_get_string(v);
        if (json_object_object_get_ex(o, "Expiration", &v) && json_object_is_type(v, json_type_string))
                exp = json_object_get_string(v);
        if (!key || !*key || !secret || !*secret) {
                r = error_set(err, -EBADMSG, "%s: its output lacks %s", what, !key || !*key ? "AccessKeyId"
                                                                                             : "SecretAccessKey");
                goto out;
        }
        if (exp && parse_iso8601_utc(exp, &expiration) < 0) {
                r = error_set(err, -EBADMSG, "%s: \"Expiration\" is not an ISO 8601 time", what);
                goto out;
        }
        c.access_key_id = strdup(key);
        c.secret_access_key = strdup(secret);
        c.session_token = token && *token ? strdup(token) : NULL;
        if (!c.access_key_id || !c.secret_access_key || (token && *token && !c.session_token)) {
                credentials_clear(&c);
                r = -ENOMEM;
                goto out;
        }
        c.expiration = (time_t)expiration;
        c.source = CREDENTIALS_PROCESS;
        *ret = c;
        r = 0;
out:
        json_object_put(o);
        return r;
}

/* Reads what FDS give until both close, KILL_AT (monotonic ms) passes or OUT is full. */
static int drain(int fds[2], struct buf *out, struct buf *errtext, int64_t kill_at)
{
        bool open_[2] = { true, true };
        char chunk[4096];

        while (open_[0] || open_[1]) {
                struct pollfd pf[2];
                nfds_t n = 0;
                int64_t left = kill_at - mono_ms();
                int pr;

                if (left <= 0)
                        return -ETIMEDOUT;
                for (int i = 0; i < 2; i++)
                        if (open_[i])
                                pf[n++] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
                pr = poll(pf, n, (int)(left > 1000 ? 1000 : left));
                if (pr < 0 && errno != EINTR)
                        return -errno;
                for (nfds_t k = 0; pr > 0 && k < n; k++) {
                        int which = pf[k].fd == fds[0] ? 0 : 1;
                        ssize_t got;

                        if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        got = read(pf[k].fd, chunk, sizeof(chunk));
                        if (got < 0 && errno == EINTR)
                                continue;
                        if (got <= 0) {
                                open_[which] = false;
                                continue;
                        }
                        if (which == 0) {
                                if (buf_append(out, chunk, (size_t)got) < 0)
                                        return -E2BIG;
                        } else if (buf_len(errtext) < CREDPROCESS_STDERR_KEPT) {
                                size_t room = CREDPROCESS_STDERR_KEPT - buf_len(errtext);

                                (void)buf_append(errtext, chunk, (size_t)got < room ? (size_t)got : room);
                        }
                }
        }
        return 0;
}

/* The first line of the command's stderr, scrubbed, for the message. */
static void first_line(struct buf *errtext, char *line, size_t size)
{
        const char *s = buf_str(errtext);
        size_t n = strcspn(s, "\r\n");
        char *clean;

        snprintf(line, size, "%.*s", (int)n, s);
        clean = log_scrub(line);
        snprintf(line, size, "%s", clean ? clean : "(withheld)");
        free(clean);
}

int credprocess_run(const char *command, const char *what, uint64_t timeout_ms, struct aws_credentials *ret,
                    struct error *err)
{
        struct buf out = BUF_INIT(CREDPROCESS_MAX_OUTPUT), errtext = BUF_INIT(CREDPROCESS_STDERR_KEPT + 1);
        int pout[2] = { -1, -1 }, perr[2] = { -1, -1 }, fds[2], status = 0, r;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        bool fa_ok = false, attr_ok = false;
        char **argv = NULL, line[CREDPROCESS_STDERR_KEPT + 1];
        pid_t pid = -1;

        r = shellwords_split(command, what, &argv, NULL, err);
        if (r < 0)
                return r;
        if (!argv[0]) {
                r = error_set(err, -EINVAL, "%s is empty", what);
                goto out;
        }
        if (pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0) {
                r = error_set(err, -errno, "%s: cannot make a pipe: %s", what, strerror(errno));
                goto out;
        }
        r = -ENOMEM;
        if (posix_spawn_file_actions_init(&fa) != 0)
                goto out;
        fa_ok = true;
        if (posix_spawnattr_init(&attr) != 0)
                goto out;
        attr_ok = true;
        if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
            posix_spawn_file_actions_adddup2(&fa, pout[1], 1) != 0 ||
            posix_spawn_file_actions_adddup2(&fa, perr[1], 2) != 0 ||
            posix_spawnattr_setpgroup(&attr, 0) != 0 || posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP) != 0)
                goto out;
        r = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
        if (r != 0) {
                pid = -1;
                r = error_set(err, r == ENOENT ? -ENOENT : -ENOEXEC, "%s: cannot run %s: %s", what, argv[0],
                              strerror(r));
                goto out;
        }
        close(pout[1]);
        close(perr[1]);
        pout[1] = perr[1] = -1;
        fds[0] = pout[0];
        fds[1] = perr[0];
        r = drain(fds, &out, &errtext, mono_ms() + (int64_t)(timeout_ms ? timeout_ms : CREDPROCESS_TIMEOUT_MS));
        if (r < 0) {
                kill(-pid, SIGKILL);
                (void)waitpid(pid, &status, 0);
                pid = -1;
                if (r == -ETIMEDOUT)
                        r = error_set(err, r, "%s: still running after %llu ms; killed", what,
                                      (unsigned long long)(timeout_ms ? timeout_ms : CREDPROCESS_TIMEOUT_MS));
                else if (r == -E2BIG)
                        r = error_set(err, r, "%s: more than %d bytes of output; killed", what,
                                      CREDPROCESS_MAX_OUTPUT);
                else
                        r = error_set(err, r, "%s: %s", what, strerror(-r));
                goto out;
        }
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        pid = -1;
        /* Whatever the outcome, a secret it printed must never show. */
        {
                struct aws_credentials c = { 0 };
                int pr = credprocess_parse(buf_str(&out), what, &c, NULL);

                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                        credentials_clear(&c);
                        first_line(&errtext, line, sizeof(line));
                        if (WIFSIGNALED(status))
                                r = error_set(err, -EIO, "%s: killed by signal %d%s%s", what, WTERMSIG(status),
                                              line[0] ? ": " : "", line);
                        else
                                r = error_set(err, -EIO, "%s: exited with status %d%s%s", what, WEXITSTATUS(status),
                                              line[0] ? ": " : "", line);
                        goto out;
                }
                if (pr < 0) {
                        r = credprocess_parse(buf_str(&out), what, &c, err);
                        goto out;
                }
                *ret = c;
                r = 0;
        }
out:
        if (pid > 0) {
                kill(-pid, SIGKILL);
                (void)waitpid(pid, &status, 0);
        }
        for (int i = 0; i < 2; i++) {
                if (pout[i] >= 0)
                        close(pout[i]);
                if (perr[i] >= 0)
                        close(perr[i]);
        }
        if (fa_ok)
                posix_spawn_file_actions_destroy(&fa);
        if (attr_ok)
                posix_spawnattr_destroy(&attr);
        shellwords_free(argv);
        buf_free(&out);
        buf_free(&errtext);
        return r;
}
