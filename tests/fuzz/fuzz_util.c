/* Shared by the fuzz targets (fuzz_util.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "util/log.h"

static char scratch[PATH_MAX];

static void die(const char *what)
{
        fprintf(stderr, "fuzz: %s: %s\n", what, strerror(errno));
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        const char *level = getenv("FUZZ_LOG_LEVEL");

        (void)argc;
        (void)argv;
        /* The parsers' warnings would drown libFuzzer's output; FUZZ_LOG_LEVEL=7 shows them. */
        log_setup(LOG_TARGET_STDERR, level ? atoi(level) : LOG_CRIT);
        signal(SIGPIPE, SIG_IGN);
        setenv("TZ", "UTC", 1);
        return 0;
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
        char *s = malloc(size + 1);

        if (!s)
                die("malloc");
        if (size)
                memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

size_t fuzz_split(const uint8_t *data, size_t size, char **parts, size_t max)
{
        const size_t sl = strlen(FUZZ_SEP);
        size_t n = 0, off = 0;

        while (n + 1 < max) {
                const uint8_t *p = NULL;

                for (size_t i = off; i + sl <= size; i++)
                        if (memcmp(data + i, FUZZ_SEP, sl) == 0) {
                                p = data + i;
                                break;
                        }
                if (!p)
                        break;
                parts[n++] = fuzz_strndup(data + off, (size_t)(p - data) - off);
                off = (size_t)(p - data) + sl;
        }
        parts[n++] = fuzz_strndup(data + off, size - off);
        for (size_t i = n; i < max; i++)
                parts[i] = fuzz_strndup(NULL, 0);
        return n;
}

void fuzz_parts_free(char **parts, size_t max)
{
        for (size_t i = 0; i < max; i++) {
                free(parts[i]);
                parts[i] = NULL;
        }
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        /* The parsers under test may have left anything, even a directory without x. */
        chmod(path, 0700);
        remove(path);
        return 0;
}

static void remove_scratch(void)
{
        if (scratch[0])
                nftw(scratch, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_scratch(void)
{
        const char *bases[] = { getenv("FUZZ_TMPDIR"), "/dev/shm", getenv("TMPDIR"), "/tmp" };

        if (scratch[0])
                return scratch;
        for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
                if (!bases[i] || !*bases[i])
                        continue;
                snprintf(scratch, sizeof(scratch), "%s/opsagent-fuzz.XXXXXX", bases[i]);
                if (mkdtemp(scratch)) {
                        atexit(remove_scratch);
                        return scratch;
                }
        }
        die("mkdtemp");
        return NULL;
}

static int remove_below(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        if (ftw->level == 0)
                return 0;
        return remove_one(path, st, flag, ftw);
}

void fuzz_scratch_reset(void)
{
        nftw(fuzz_scratch(), remove_below, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_path(const char *rel)
{
        static char buf[2 * PATH_MAX];

        snprintf(buf, sizeof(buf), "%s%s", fuzz_scratch(), rel);
        return buf;
}

void fuzz_mkdirs(const char *rel)
{
        char path[2 * PATH_MAX];

        snprintf(path, sizeof(path), "%s%s", fuzz_scratch(), rel);
        for (char *p = path + strlen(fuzz_scratch()) + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(path, 0755) < 0 && errno != EEXIST)
                        die(path);
                *p = '/';
        }
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                die(path);
}

void fuzz_write(const char *rel, const char *data, size_t len)
{
        char dir[2 * PATH_MAX], *slash;
        const char *path;
        int fd;

        snprintf(dir, sizeof(dir), "%s", rel);
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                fuzz_mkdirs(dir);
        }
        path = fuzz_path(rel);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                die(path);
        for (size_t done = 0; done < len;) {
                ssize_t k = write(fd, data + done, len - done);

                if (k < 0)
                        die(path);
                done += (size_t)k;
        }
        close(fd);
}

void fuzz_write_str(const char *rel, const char *text)
{
        fuzz_write(rel, text, strlen(text));
}

bool fuzz_valid_name(const char *name)
{
        return name[0] && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && !strchr(name, '/') &&
               strlen(name) <= NAME_MAX;
}
