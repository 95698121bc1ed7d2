/* main() for a fuzz target built without libFuzzer: runs the target once on every file named
 * on the command line (a directory stands for the files in it), or, with no argument, on
 * every seed of its corpus, $abs_top_srcdir/tests/fuzz/corpus/NAME for the program fuzz_NAME.
 * Prints TAP, so that `make check` replays every seed (and every crash once fixed and kept as
 * a seed) with the ordinary build and the ASan+UBSan one. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"

struct list {
        char **v;
        size_t n;
};

static void add(struct list *l, const char *path)
{
        char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

        if (!v || !(v[l->n] = strdup(path))) {
                perror("replay");
                exit(2);
        }
        l->v = v;
        l->n++;
}

static int cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_path(struct list *l, const char *path)
{
        struct stat st;
        struct dirent *e;
        DIR *d;

        if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
                add(l, path);
                return;
        }
        d = opendir(path);
        if (!d) {
                add(l, path);
                return;
        }
        while ((e = readdir(d))) {
                char sub[PATH_MAX];

                if (e->d_name[0] == '.')
                        continue;
                snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
                add(l, sub);
        }
        closedir(d);
}

static int read_all(const char *path, uint8_t **ret, size_t *ret_len)
{
        FILE *f = fopen(path, "rb");
        uint8_t *data = NULL;
        size_t len = 0, cap = 0;

        if (!f)
                return -errno;
        for (;;) {
                size_t k;

                if (len == cap) {
                        uint8_t *p = realloc(data, cap = cap ? 2 * cap : 4096);

                        if (!p) {
                                free(data);
                                fclose(f);
                                return -ENOMEM;
                        }
                        data = p;
                }
                k = fread(data + len, 1, cap - len, f);
                len += k;
                if (k == 0)
                        break;
        }
        fclose(f);
        *ret = data;
        *ret_len = len;
        return 0;
}

int main(int argc, char **argv)
{
        struct list l = { NULL, 0 };
        int failed = 0;

        LLVMFuzzerInitialize(&argc, &argv);
        if (argc > 1) {
                for (int i = 1; i < argc; i++)
                        add_path(&l, argv[i]);
        } else {
                const char *top = getenv("abs_top_srcdir");
                const char *base = strrchr(argv[0], '/');
                char dir[PATH_MAX];

                base = base ? base + 1 : argv[0];
                if (strncmp(base, "lt-", 3) == 0)
                        base += 3;
                if (strncmp(base, "fuzz_", 5) == 0)
                        base += 5;
                snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top ? top : ".", base);
                add_path(&l, dir);
        }
        qsort(l.v, l.n, sizeof(*l.v), cmp);
        printf("1..%zu\n", l.n);
        for (size_t i = 0; i < l.n; i++) {
                uint8_t *data = NULL;
                size_t len = 0;
                int r = read_all(l.v[i], &data, &len);

                if (r < 0) {
                        printf("not ok %zu - %s: %s\n", i + 1, l.v[i], strerror(-r));
                        failed++;
                } else {
                        LLVMFuzzerTestOneInput(data, len);
                        printf("ok %zu - %s\n", i + 1, l.v[i]);
                }
                fflush(stdout);
                free(data);
                free(l.v[i]);
        }
        free(l.v);
        return failed ? 1 : 0;
}
