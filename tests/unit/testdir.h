/* A fresh temporary directory per test, and its removal (for cmocka setup/teardown). */
#ifndef OPSAGENT_TESTDIR_H
#define OPSAGENT_TESTDIR_H

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

/* Creates /tmp/opsagent-NAME-XXXXXX into BUF (at least 64 bytes); BUF or NULL. */
static inline char *testdir_new(char *buf, size_t size, const char *name)
{
        snprintf(buf, size, "/tmp/opsagent-%s-XXXXXX", name);
        return mkdtemp(buf);
}

static inline int testdir_unlink_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

/* Removes DIR and everything under it; 0 or -1. */
static inline int testdir_remove(const char *dir)
{
        return nftw(dir, testdir_unlink_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
