/* Test helper: a loopback TCP server thread that answers each request it receives with the
 * next canned response, byte for byte (test code only: it parses nothing but the blank line
 * ending the request head and a Content-Length). It records each request, head and body, for
 * assertions. */
#ifndef CANNED_SERVER_H
#define CANNED_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CANNED_MAX 16

struct canned_server {
        int fd;
        int port;
        pthread_t thread;
        const char *responses[CANNED_MAX];
        size_t response_len[CANNED_MAX];
        size_t n;
        char *requests[CANNED_MAX];
        size_t n_requests;
        int connections;
        unsigned delay_ms;          /* before each answer (canned_start_slow) */
};

static void *canned_main(void *userdata)
{
        struct canned_server *s = userdata;
        size_t next = 0;

        while (next < s->n) {
                int c = accept(s->fd, NULL, NULL);

                if (c < 0)
                        break;
                s->connections++;
                while (next < s->n) {
                        char head[65536];
                        size_t len = 0;
                        ssize_t k;

                        while (len < sizeof(head) - 1 && !(len >= 4 && memcmp(head + len - 4, "\r\n\r\n", 4) == 0)) {
                                k = read(c, head + len, 1);
                                if (k <= 0)
                                        break;
                                len += (size_t)k;
                        }
                        if (len == 0 || !(len >= 4 && memcmp(head + len - 4, "\r\n\r\n", 4) == 0))
                                break;
                        head[len] = '\0';
                        {
                                /* the body, when the head announces one, is recorded after it */
                                const char *cl = strcasestr(head, "\r\ncontent-length:");
                                size_t body = cl ? strtoul(cl + 17, NULL, 10) : 0;

                                while (body > 0 && len < sizeof(head) - 1) {
                                        k = read(c, head + len, 1);
                                        if (k <= 0)
                                                break;
                                        len += (size_t)k;
                                        body--;
                                }
                                head[len] = '\0';
                        }
                        if (s->n_requests < CANNED_MAX)
                                s->requests[s->n_requests++] = strdup(head);
                        if (s->delay_ms)
                                usleep(s->delay_ms * 1000u);
                        if (write(c, s->responses[next], s->response_len[next]) < 0)
                                break;
                        next++;
                }
                close(c);
        }
        return NULL;
}

static int canned_start_slow(struct canned_server *s, const char *const *responses, size_t n, unsigned delay_ms);

/* Starts serving RESPONSES (N of them, NUL-terminated strings) on 127.0.0.1. */
static inline int canned_start(struct canned_server *s, const char *const *responses, size_t n)
{
        return canned_start_slow(s, responses, n, 0);
}

/* The same, each answer DELAY_MS after its request: a service that answers slowly. */
static int canned_start_slow(struct canned_server *s, const char *const *responses, size_t n, unsigned delay_ms)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t al = sizeof(a);

        memset(s, 0, sizeof(*s));
        for (size_t i = 0; i < n && i < CANNED_MAX; i++) {
                s->responses[i] = responses[i];
                s->response_len[i] = strlen(responses[i]);
        }
        s->n = n;
        s->delay_ms = delay_ms;
        s->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s->fd, 8) < 0 ||
            getsockname(s->fd, (struct sockaddr *)&a, &al) < 0)
                return -1;
        s->port = ntohs(a.sin_port);
        return pthread_create(&s->thread, NULL, canned_main, s) == 0 ? 0 : -1;
}

/* Stops the thread; the recorded requests stay until canned_free(). */
static void canned_stop(struct canned_server *s)
{
        shutdown(s->fd, SHUT_RDWR);
        close(s->fd);
        pthread_join(s->thread, NULL);
}

static void canned_free(struct canned_server *s)
{
        for (size_t i = 0; i < s->n_requests; i++)
                free(s->requests[i]);
        s->n_requests = 0;
}

#endif
