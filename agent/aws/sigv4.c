#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/hmac.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "sigv4.h"

static const char hexdigits[] = "0123456789abcdef";

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = hexdigits[in[i] >> 4];
                out[2 * i + 1] = hexdigits[in[i] & 0xf];
        }
        out[2 * n] = '\0';
}

void sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
        unsigned char md[SHA256_DIGEST_LENGTH];

        SHA256(data ? data : (const void *)"", len, md);
        hex_encode(md, sizeof(md), out);
}

static int hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                       unsigned char out[SHA256_DIGEST_LENGTH])
{
        unsigned int out_len = SHA256_DIGEST_LENGTH;

        if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len))
                return -EIO;
        return 0;
}

static bool is_unreserved(unsigned char c)
{
        return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

int sigv4_uri_encode(struct buf *b, const char *s, size_t len, bool encode_slash)
{
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                char enc[3];
                int r;

                if (is_unreserved(c) || (c == '/' && !encode_slash)) {
                        r = buf_append(b, &s[i], 1);
                } else {
                        enc[0] = '%';
                        enc[1] = "0123456789ABCDEF"[c >> 4];
                        enc[2] = "0123456789ABCDEF"[c & 0xf];
                        r = buf_append(b, enc, 3);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Percent-decodes S[0..LEN) into a new string (length in *ret_len). */
static char *uri_decode(const char *s, size_t len, size_t *ret_len)
{
        char *out = malloc(len + 1);
        size_t o = 0;

        if (!out)
                return NULL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '%' && i + 2 < len &&
                    hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
                        out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
                        i += 2;
                } else {
                        out[o++] = s[i];
                }
        }
        out[o] = '\0';
        *ret_len = o;
        return out;
}

struct qparam {
        char *enc; /* "key=value", both encoded */
        size_t key_len;
};

static int qparam_cmp(const void *a, const void *b)
{
        const struct qparam *x = a, *y = b;
        size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
        int c = memcmp(x->enc, y->enc, n);

        if (c != 0)
                return c;
        if (x->key_len != y->key_len)
                return x->key_len < y->key_len ? -1 : 1;
        return strcmp(x->enc + x->key_len, y->enc + y->key_len);
}

int sigv4_canonical_query(struct buf *b, const char *query)
{
        struct qparam params[SIGV4_MAX_QUERY_PARAMS];
        size_t n = 0;
        const char *p = query;
        int r = 0;

        if (!query || !*query)
                return 0;
        while (*p) {
                const char *amp = strchr(p, '&');
                size_t seg = amp ? (size_t)(amp - p) : strlen(p);
                const char *eq = memchr(p, '=', seg);
                size_t klen = eq ? (size_t)(eq - p) : seg;
                char *k = NULL, *v = NULL;
                size_t kd, vd;
                struct buf e = BUF_INIT(SIGV4_MAX_CANONICAL);

                if (seg > 0) {
                        if (n >= SIGV4_MAX_QUERY_PARAMS) {
                                r = -EINVAL;
                                goto out;
                        }
                        k = uri_decode(p, klen, &kd);
                        v = eq ? uri_decode(eq + 1, seg - klen - 1, &vd) : strdup("");
                        if (!eq)
                                vd = 0;
                        if (!k || !v) {
                                r = -ENOMEM;
                        } else {
                                r = sigv4_uri_encode(&e, k, kd, true);
                                if (r >= 0)
                                        params[n].key_len = e.len;
                                if (r >= 0)
                                        r = buf_puts(&e, "=");
                                if (r >= 0)
                                        r = sigv4_uri_encode(&e, v, vd, true);
                        }
                        free(k);
                        free(v);
                        if (r < 0) {
                                buf_free(&e);
                                goto out;
                        }
                        params[n].enc = buf_steal(&e);
                        if (!params[n].enc) {
                                r = -ENOMEM;
                                goto out;
                        }
                        n++;
                }
                p += seg;
                if (*p == '&')
                        p++;
        }
        qsort(params, n, sizeof(params[0]), qparam_cmp);
        for (size_t i = 0; i < n && r >= 0; i++) {
                if (i > 0)
                        r = buf_puts(b, "&");
                if (r >= 0)
                        r = buf_puts(b, params[i].enc);
        }
out:
        for (size_t i = 0; i < n; i++)
                free(params[i].enc);
        return r;
}

int sigv4_canonical_path(struct buf *b, const char *path, bool normalize)
{
        /* segment starts and lengths for normalization */
        const char *segs[256];
        size_t lens[256];
        size_t n = 0;
        size_t plen;
        bool trailing;
        int r;

        if (!path || !*path)
                return buf_puts(b, "/");
        if (!normalize)
                return sigv4_uri_encode(b, path, strlen(path), false);

        plen = strlen(path);
        trailing = plen > 0 && path[plen - 1] == '/';
        for (const char *p = path; *p;) {
                const char *slash;
                size_t l;

                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                slash = strchr(p, '/');
                l = slash ? (size_t)(slash - p) : strlen(p);
                if (l == 1 && p[0] == '.') {
                        /* drop */
                } else if (l == 2 && p[0] == '.' && p[1] == '.') {
                        if (n > 0)
                                n--;
                } else {
                        if (n >= sizeof(segs) / sizeof(segs[0]))
                                return -EINVAL;
                        segs[n] = p;
                        lens[n] = l;
                        n++;
                }
                p += l;
        }
        r = buf_puts(b, "/");
        for (size_t i = 0; i < n && r >= 0; i++) {
                r = sigv4_uri_encode(b, segs[i], lens[i], true);
                if (r >= 0 && (i + 1 < n || trailing))
                        r = buf_puts(b, "/");
        }
        return r;
}

struct chdr {
        char *name;   /* lower case */
        struct buf value;
        size_t order;
};

static int chdr_cmp(const void *a, const void *b)
{
        const struct chdr *x = a, *y = b;
        int c = strcmp(x->name, y->name);

        if (c != 0)
                return c;
        return x->order < y->order ? -1 : x->order > y->order;
}

/* Appends V trimmed, with runs of whitespace collapsed into one space. */
static int append_trimmed(struct buf *b, const char *v)
{
        bool space = false;
        bool started = false;
        int r = 0;

        for (const char *p = v; *p && r >= 0; p++) {
                if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
                        space = started;
                        continue;
                }
                if (space)
                        r = buf_puts(b, " ");
                if (r >= 0)
                        r = buf_append(b, p, 1);
                space = false;
                started = true;
        }
        return r;
}

static int add_header(struct chdr *h, size_t *n, const char *name, const char *value)
{
        char *lname;
        int r;

        for (size_t i = 0; i < *n; i++) {
                if (strcasecmp(h[i].name, name) == 0) {
                        r = buf_puts(&h[i].value, ",");
                        if (r >= 0)
                                r = append_trimmed(&h[i].value, value);
                        return r;
                }
        }
        if (*n >= SIGV4_MAX_HEADERS + 3)
                return -EINVAL;
        lname = strdup(name);
        if (!lname)
                return -ENOMEM;
        for (char *p = lname; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        h[*n].name = lname;
        buf_init(&h[*n].value, SIGV4_MAX_CANONICAL);
        h[*n].order = *n;
        (*n)++;
        r = append_trimmed(&h[*n - 1].value, value);
        if (r >= 0)
                buf_str(&h[*n - 1].value);
        return r;
}

void sigv4_signed_clear(struct sigv4_signed *s)
{
        if (!s)
                return;
        free(s->canonical_request);
        free(s->string_to_sign);
        if (s->authorization)
                OPENSSL_cleanse(s->authorization, strlen(s->authorization));
        free(s->authorization);
        OPENSSL_cleanse(s, sizeof(*s));
}

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_credentials *cred, const char *region,
               const char *service, time_t now, unsigned flags, struct sigv4_signed *ret)
{
        struct chdr h[SIGV4_MAX_HEADERS + 3];
        size_t nh = 0;
        struct buf creq = BUF_INIT(SIGV4_MAX_CANONICAL);
        struct buf sts = BUF_INIT(SIGV4_MAX_CANONICAL);
        struct buf signed_headers = BUF_INIT(SIGV4_MAX_CANONICAL);
        struct buf auth = BUF_INIT(SIGV4_MAX_CANONICAL);
        struct buf key = BUF_INIT(1024);
        struct sigv4_signed s = { 0 };
        unsigned char k[SHA256_DIGEST_LENGTH], sig[SHA256_DIGEST_LENGTH];
        char date[9], creq_hash[65];
        struct tm tm;
        bool have_host = false;
        int r;

        if (!req || !cred || !cred->access_key_id || !cred->secret_access_key || !region || !service ||
            !req->method || req->n_headers > SIGV4_MAX_HEADERS)
                return -EINVAL;
        if (!gmtime_r(&now, &tm))
                return -EINVAL;
        strftime(s.amz_date, sizeof(s.amz_date), "%Y%m%dT%H%M%SZ", &tm);
        strftime(date, sizeof(date), "%Y%m%d", &tm);
        sigv4_sha256_hex(req->body, req->body_len, s.payload_hash);

        for (size_t i = 0; i < req->n_headers; i++) {
                if (strcasecmp(req->headers[i].name, "authorization") == 0)
                        continue;
                if (strcasecmp(req->headers[i].name, "host") == 0)
                        have_host = true;
                r = add_header(h, &nh, req->headers[i].name, req->headers[i].value ? req->headers[i].value : "");
                if (r < 0)
                        goto out;
        }
        if (!have_host) {
                r = -EINVAL;
                goto out;
        }
        r = add_header(h, &nh, "x-amz-date", s.amz_date);
        if (r >= 0 && cred->session_token && *cred->session_token && !(flags & SIGV4_OMIT_SESSION_TOKEN))
                r = add_header(h, &nh, "x-amz-security-token", cred->session_token);
        if (r >= 0 && (flags & SIGV4_SIGN_BODY))
                r = add_header(h, &nh, "x-amz-content-sha256", s.payload_hash);
        if (r < 0)
                goto out;
        qsort(h, nh, sizeof(h[0]), chdr_cmp);

        /* Canonical request. */
        r = buf_printf(&creq, "%s\n", req->method);
        if (r >= 0)
                r = sigv4_canonical_path(&creq, req->path, flags & SIGV4_NORMALIZE_PATH);
        if (r >= 0)
                r = buf_puts(&creq, "\n");
        if (r >= 0)
                r = sigv4_canonical_query(&creq, req->query);
        if (r >= 0)
                r = buf_puts(&creq, "\n");
        for (size_t i = 0; i < nh && r >= 0; i++) {
                r = buf_printf(&creq, "%s:%s\n", h[i].name, buf_str(&h[i].value));
                if (r >= 0)
                        r = buf_printf(&signed_headers, "%s%s", i ? ";" : "", h[i].name);
        }
        if (r >= 0)
                r = buf_printf(&creq, "\n%s\n%s", buf_str(&signed_headers), s.payload_hash);
        if (r < 0)
                goto out;

        /* String to sign. */
        sigv4_sha256_hex(creq.data, creq.len, creq_hash);
        r = buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", s.amz_date, date, region,
                       service, creq_hash);
        if (r < 0)
                goto out;

        /* Signing key and signature. */
        r = buf_printf(&key, "AWS4%s", cred->secret_access_key);
        if (r < 0)
                goto out;
        r = hmac_sha256(key.data, key.len, date, strlen(date), k);
        if (r >= 0)
                r = hmac_sha256(k, sizeof(k), region, strlen(region), k);
        if (r >= 0)
                r = hmac_sha256(k, sizeof(k), service, strlen(service), k);
        if (r >= 0)
                r = hmac_sha256(k, sizeof(k), "aws4_request", strlen("aws4_request"), k);
        if (r >= 0)
                r = hmac_sha256(k, sizeof(k), sts.data, sts.len, sig);
        if (r < 0)
                goto out;
        hex_encode(sig, sizeof(sig), s.signature);

        r = buf_printf(&auth, "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
                       cred->access_key_id, date, region, service, buf_str(&signed_headers), s.signature);
        if (r < 0)
                goto out;

        s.canonical_request = buf_steal(&creq);
        s.string_to_sign = buf_steal(&sts);
        s.authorization = buf_steal(&auth);
        if (!s.canonical_request || !s.string_to_sign || !s.authorization) {
                sigv4_signed_clear(&s);
                r = -ENOMEM;
                goto out;
        }
        *ret = s;
        r = 0;
out:
        for (size_t i = 0; i < nh; i++) {
                free(h[i].name);
                buf_free(&h[i].value);
        }
        OPENSSL_cleanse(k, sizeof(k));
        if (key.data)
                OPENSSL_cleanse(key.data, key.len);
        buf_free(&key);
        buf_free(&creq);
        buf_free(&sts);
        buf_free(&signed_headers);
        buf_free(&auth);
        return r;
}
