/* logrotate recipe: what root may rotate and signal in trees that other users write (issue 14):
 * no link on the way to a log or its olddir, no hard-linked log unless allowhardlink, pidfiles
 * trusted only as far as their owner, and the rotation of a log in a user's directory made as
 * that user. As root (uid 4242 and 4343 stand for two users; no account is needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pwd.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>

#include "logrotate_recipe.h"
#include "lr_testutil.h"

#define USER 4242
#define OTHER 4343
#define CREATE(extra) "{\"sets\": {\"app\": {\"paths\": [\"/var/log/app/*.log\"], \"method\": \"create\"," \
                      " \"compress\": \"none\", \"size\": 1" extra "}}}"
#define REOPEN(extra) "{\"sets\": {\"app\": {\"paths\": [\"/var/log/app/a.log\"], \"size\": 1, \"compress\": \"none\"," \
                      " \"reopen\": {\"pidfile\": \"/run/app/*.pid\", \"signal\": \"SIGUSR2\", \"timeout\": 5" extra "}}}}"

struct t {
        char *dir;
        struct fake *f;
        pid_t child;
};

static int setup(void **state)
{
        struct t *t = calloc(1, sizeof(*t));
        char *cmd = NULL;

        if (geteuid() != 0) {
                free(t);
                skip();
        }
        t->dir = tdir_new();
        assert_true(asprintf(&cmd, "umask 022 && mkdir -p '%s/root/var/log/app' '%s/root/run/app' '%s/root/secret'", t->dir, t->dir,
                             t->dir) > 0);
        assert_int_equal(system(cmd), 0);
        free(cmd);
        *state = t;
        return 0;
}

static int teardown(void **state)
{
        struct t *t = *state;
        if (t->child > 0) {
                kill(t->child, SIGKILL);
                waitpid(t->child, NULL, 0);
        }
        fake_free(t->f);
        tdir_free(t->dir);
        free(t);
        return 0;
}

static char *p_(struct t *t, const char *rel)
{
        return tpath(t->dir, rel);
}

static int run_recipe(struct t *t, const char *attrs)
{
        fake_free(t->f);
        t->f = fake_new(t->dir, attrs);
        return logrotate_run(&t->f->ctx);
}

static void put(struct t *t, const char *rel, const char *text, uid_t uid)
{
        char *p = p_(t, rel);
        twrite(t->dir, rel, text);
        assert_int_equal(chown(p, uid, uid), 0);
        free(p);
}

static void own(struct t *t, const char *rel, uid_t uid, mode_t mode)
{
        char *p = p_(t, rel);
        assert_int_equal(chown(p, uid, uid), 0);
        assert_int_equal(chmod(p, mode), 0);
        free(p);
}

/* ---- links and hard links ---- */

/* The log's directory is a link to another directory: its logs are not rotated. */
static void test_link_on_the_way_to_a_log_is_refused(void **state)
{
        struct t *t = *state;
        char *app = p_(t, "root/var/log/app"), *secret = p_(t, "root/secret");

        put(t, "root/secret/a.log", "root's\n", 0);
        assert_int_equal(rmdir(app), 0);
        assert_int_equal(symlink(secret, app), 0);
        assert_int_equal(run_recipe(t, CREATE("")), -ELOOP);
        assert_non_null(strstr(t->f->said, "symbolic link"));
        assert_true(texists(t->dir, "root/secret/a.log"));
        assert_false(texists(t->dir, "root/secret/a.log.1"));
        free(secret);
        free(app);
}

/* The same one level up: /var/log a link. */
static void test_link_higher_on_the_way_is_refused(void **state)
{
        struct t *t = *state;
        char *log = p_(t, "root/var/log"), *secret = p_(t, "root/secret"), *cmd = NULL;

        assert_true(asprintf(&cmd, "rm -rf '%s' && mkdir '%s/app'", log, secret) > 0);
        assert_int_equal(system(cmd), 0);
        put(t, "root/secret/app/a.log", "root's\n", 0);
        assert_int_equal(symlink(secret, log), 0);
        assert_int_equal(run_recipe(t, CREATE("")), -ELOOP);
        assert_false(texists(t->dir, "root/secret/app/a.log.1"));
        free(cmd);
        free(secret);
        free(log);
}

/* A directory higher on the way that a group other than root's can write (its members could
 * swap what is below it for a link between the check and the rename): refused like the log's
 * own directory, unless it has the sticky bit. */
static void test_group_writable_dir_on_the_way_is_refused(void **state)
{
        struct t *t = *state;
        char *log = p_(t, "root/var/log");

        put(t, "root/var/log/app/a.log", "x\n", 0);
        assert_int_equal(chown(log, 0, OTHER), 0);
        assert_int_equal(chmod(log, 0775), 0);
        assert_true(run_recipe(t, CREATE("")) < 0);
        assert_non_null(strstr(t->f->said, "writable by a group other than root's"));
        assert_non_null(strstr(t->f->said, "var/log"));
        assert_false(texists(t->dir, "root/var/log/app/a.log.1"));
        assert_int_equal(chmod(log, 01775), 0);
        assert_int_equal(run_recipe(t, CREATE("")), 0);
        assert_true(texists(t->dir, "root/var/log/app/a.log.1"));
        free(log);
}

/* An olddir to create, with a link on the way to it: root creates nothing where it points. */
static void test_olddir_created_through_no_link(void **state)
{
        struct t *t = *state;
        char *lnk = p_(t, "root/var/log/app/lnk"), *secret = p_(t, "root/secret");

        put(t, "root/var/log/app/a.log", "x\n", 0);
        assert_int_equal(symlink(secret, lnk), 0);
        assert_true(run_recipe(t, CREATE(", \"olddir\": \"lnk/old\"")) < 0);
        assert_non_null(strstr(t->f->said, "symbolic link"));
        assert_false(texists(t->dir, "root/secret/old"));
        assert_true(texists(t->dir, "root/var/log/app/a.log"));
        free(secret);
        free(lnk);
}

/* Without the rights to become a log's owner (a unit whose bounding set lacks CAP_SETUID and
 * CAP_SETGID), the log is not rotated, and the line says why and what the unit needs. In a
 * child of the test that has given those capabilities up. */
static void test_no_right_to_drop_is_said(void **state)
{
        struct t *t = *state;
        char said[4096] = "";
        int status, fd[2];
        ssize_t n;
        pid_t pid;

        put(t, "root/var/log/app/a.log", "the user's\n", USER);
        own(t, "root/var/log/app", USER, 0755);
        assert_int_equal(pipe(fd), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
                struct __user_cap_data_struct d[2];

                close(fd[0]);
                if (syscall(SYS_capget, &h, d) < 0)
                        _exit(3);
                d[0].effective &= ~(1u << CAP_SETUID | 1u << CAP_SETGID);
                d[0].permitted &= ~(1u << CAP_SETUID | 1u << CAP_SETGID);
                if (syscall(SYS_capset, &h, d) < 0)
                        _exit(3);
                fake_free(t->f);
                t->f = fake_new(t->dir, CREATE(""));
                t->f->said_fd = fd[1];   /* the child that fails to drop says it there */
                _exit(logrotate_run(&t->f->ctx) < 0 ? 0 : 1);
        }
        close(fd[1]);
        for (size_t len = 0; (n = read(fd[0], said + len, sizeof(said) - 1 - len)) > 0;)
                len += (size_t)n;
        close(fd[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_non_null(strstr(said, "cannot become uid 4242"));
        assert_non_null(strstr(said, "CAP_SETUID and CAP_SETGID"));
        assert_false(texists(t->dir, "root/var/log/app/a.log.1"));
}

/* A journal of a killed run (FMT and what follows: its paths under the test's root). */
static void put_journal(struct t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_journal(struct t *t, const char *fmt, ...)
{
        char *text = NULL, *dir = p_(t, "state");
        va_list ap;

        (void)mkdir(dir, 0700);
        free(dir);
        va_start(ap, fmt);
        assert_true(vasprintf(&text, fmt, ap) > 0);
        va_end(ap);
        twrite(t->dir, "state/journal.json", text);
        free(text);
}

/* The killed run's directory swapped for a link before the next run: the recovery is not
 * made where the link points (no new log created there), and the journal is kept. */
static void test_recovery_follows_no_link(void **state)
{
        struct t *t = *state;
        char *app = p_(t, "root/var/log/app"), *secret = p_(t, "root/secret"), *root = p_(t, "root");

        put(t, "root/secret/a.log.1", "rotated\n", 0);
        assert_int_equal(rmdir(app), 0);
        assert_int_equal(symlink(secret, app), 0);
        put_journal(t, "{\"step\": \"rename\", \"log\": \"%s/var/log/app/a.log\", \"logical\": \"/var/log/app/a.log\","
                       " \"dst\": \"%s/var/log/app/a.log.1\", \"set\": \"app\", \"method\": \"create\", \"time\": 1}",
                    root, root);
        assert_true(run_recipe(t, CREATE("")) < 0);
        assert_non_null(strstr(t->f->said, "is not finished"));
        assert_false(texists(t->dir, "root/secret/a.log"));
        assert_true(texists(t->dir, "state/journal.json"));
        free(root);
        free(secret);
        free(app);
}

/* A killed run's step in a directory a user owns is finished as that user, as the rotation
 * was: in a directory of root's below it, that user may remove nothing, and so the child does
 * not (as root it would: the control at the end). */
static void test_recovery_in_a_users_directory_is_made_as_the_user(void **state)
{
        struct t *t = *state;
#define JOURNAL "{\"step\": \"compress\", \"src\": \"%s/var/log/app/sub/a.log.1\"," \
                " \"dst\": \"%s/var/log/app/sub/a.log.1.gz\", \"set\": \"app\", \"time\": 1}"
        char *sub = p_(t, "root/var/log/app/sub"), *root = p_(t, "root");

        assert_int_equal(mkdir(sub, 0755), 0);
        put(t, "root/var/log/app/sub/a.log.1", "rotated\n", 0);
        put(t, "root/var/log/app/sub/a.log.1.gz", "compressed\n", 0);
        own(t, "root/var/log/app", USER, 0755);
        put_journal(t, JOURNAL, root, root);
        assert_true(run_recipe(t, CREATE(", \"missingok\": true")) < 0);
        assert_true(texists(t->dir, "root/var/log/app/sub/a.log.1"));
        assert_true(texists(t->dir, "state/journal.json"));
        own(t, "root/var/log/app", 0, 0755);
        assert_int_equal(run_recipe(t, CREATE(", \"missingok\": true")), 0);
        assert_false(texists(t->dir, "root/var/log/app/sub/a.log.1"));
        assert_true(texists(t->dir, "root/var/log/app/sub/a.log.1.gz"));
        assert_false(texists(t->dir, "state/journal.json"));
        free(root);
        free(sub);
#undef JOURNAL
}

/* olddir a link to a root directory: nothing is moved there. */
static void test_olddir_link_is_refused(void **state)
{
        struct t *t = *state;
        char *old = p_(t, "root/var/log/app/old"), *secret = p_(t, "root/secret");

        put(t, "root/var/log/app/a.log", "x\n", 0);
        assert_int_equal(symlink(secret, old), 0);
        assert_true(run_recipe(t, CREATE(", \"olddir\": \"old\"")) < 0);
        assert_non_null(strstr(t->f->said, "symbolic link"));
        assert_false(texists(t->dir, "root/secret/a.log.1"));
        assert_true(texists(t->dir, "root/var/log/app/a.log"));
        free(secret);
        free(old);
}

/* A hard link to another file (root's /etc/shadow, say) is refused, unless allowhardlink. */
static void test_hard_link_needs_allowhardlink(void **state)
{
        struct t *t = *state;
        char *target = p_(t, "root/secret/shadow"), *log = p_(t, "root/var/log/app/a.log");

        put(t, "root/secret/shadow", "root:x:0:\n", 0);
        assert_int_equal(link(target, log), 0);
        assert_int_equal(run_recipe(t, CREATE("")), -EMLINK);
        assert_non_null(strstr(t->f->said, "hard links"));
        assert_false(texists(t->dir, "root/var/log/app/a.log.1"));
        assert_int_equal(run_recipe(t, CREATE(", \"allowhardlink\": true")), 0);
        assert_true(texists(t->dir, "root/var/log/app/a.log.1"));
        free(log);
        free(target);
}

/* A directory on the way that anyone can write (no sticky bit): refused. */
static void test_directory_writable_by_others_on_the_way_is_refused(void **state)
{
        struct t *t = *state;

        put(t, "root/var/log/app/a.log", "x\n", 0);
        own(t, "root/var", 0, 0777);
        assert_int_equal(run_recipe(t, CREATE("")), -EPERM);
        assert_non_null(strstr(t->f->said, "writable by others"));
        assert_false(texists(t->dir, "root/var/log/app/a.log.1"));
        own(t, "root/var", 0, 01777);           /* sticky, as /tmp: fine */
        assert_int_equal(run_recipe(t, CREATE("")), 0);
        assert_true(texists(t->dir, "root/var/log/app/a.log.1"));
}

/* ---- the rotation as the directory's owner ---- */

/* In a directory USER owns, the rotation runs as USER: it can do there only what USER can. A
 * root-owned olddir inside refuses it (as root it would have gone); without it, it works and
 * what it makes is USER's. */
static void test_rotation_in_a_users_directory_runs_as_that_user(void **state)
{
        struct t *t = *state;
        struct stat st;
        char *rotated = p_(t, "root/var/log/app/a.log.1"), *log = p_(t, "root/var/log/app/a.log");

        own(t, "root/var/log/app", USER, 0755);
        put(t, "root/var/log/app/a.log", "x\n", USER);
        {
                char *old = p_(t, "root/var/log/app/old");
                assert_int_equal(mkdir(old, 0755), 0);          /* root's */
                free(old);
        }
        assert_true(run_recipe(t, CREATE(", \"olddir\": \"old\"")) < 0);
        assert_false(texists(t->dir, "root/var/log/app/old/a.log.1"));
        assert_true(texists(t->dir, "root/var/log/app/a.log"));
        assert_int_equal(run_recipe(t, CREATE(", \"create\": {\"mode\": \"0600\"}")), 0);
        assert_int_equal(stat(rotated, &st), 0);
        assert_int_equal(st.st_uid, USER);
        assert_int_equal(stat(log, &st), 0);
        assert_int_equal(st.st_uid, USER);
        assert_int_equal(st.st_mode & 07777, 0600);
        free(log);
        free(rotated);
}

/* ---- pidfiles ---- */

/* A process that waits for signals as UID (SIGUSR2 ends it). */
static pid_t waiter(struct t *t, uid_t uid)
{
        int fds[2];
        char c;
        pid_t pid;

        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(fds[0]);
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || (uid && (setgid(uid) < 0 || setuid(uid) < 0)))
                        _exit(1);
                close(fds[1]);          /* ready */
                for (;;)
                        pause();
        }
        close(fds[1]);
        assert_int_equal(read(fds[0], &c, 1), 0);
        close(fds[0]);
        t->child = pid;
        return pid;
}

static void pidfile(struct t *t, const char *rel, pid_t pid, uid_t owner)
{
        char buf[32];
        snprintf(buf, sizeof(buf), "%d\n", (int)pid);
        put(t, rel, buf, owner);
}

/* Whether the waiter got SIGUSR2 (it is reaped then); else it still waits. */
static bool signalled(struct t *t)
{
        int status;
        pid_t w = waitpid(t->child, &status, WNOHANG);
        if (w == 0)
                return false;
        assert_int_equal(w, t->child);
        t->child = 0;
        return WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR2;
}

static void reaped(struct t *t)
{
        int status;
        assert_int_equal(waitpid(t->child, &status, 0), t->child);   /* the signal was sent before the run ended */
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR2);
        t->child = 0;
}

static void user_log(struct t *t)
{
        put(t, "root/var/log/app/a.log", "x\n", USER);
}

/* The normal case: USER's log, USER's pidfile, USER's process: signalled and rotated. */
static void test_pidfile_of_the_logs_owner_is_trusted(void **state)
{
        struct t *t = *state;

        user_log(t);
        pidfile(t, "root/run/app/w.pid", waiter(t, USER), USER);
        assert_int_equal(run_recipe(t, REOPEN("")), 0);
        reaped(t);
        assert_true(texists(t->dir, "root/var/log/app/a.log.1"));
}

/* A root-owned pidfile may name a root process. */
static void test_root_pidfile_of_a_root_process_is_trusted(void **state)
{
        struct t *t = *state;

        user_log(t);
        pidfile(t, "root/run/app/w.pid", waiter(t, 0), 0);
        assert_int_equal(run_recipe(t, REOPEN("")), 0);
        reaped(t);
}

/* USER writes the pid of a root process into a pidfile of USER's: no signal, left unrotated. */
static void test_users_pidfile_naming_a_root_process_is_refused(void **state)
{
        struct t *t = *state;

        user_log(t);
        pidfile(t, "root/run/app/evil.pid", waiter(t, 0), USER);
        assert_int_equal(run_recipe(t, REOPEN("")), -EPERM);
        assert_false(signalled(t));
        assert_non_null(strstr(t->f->said, "runs as root"));
        assert_non_null(strstr(t->f->said, "left unrotated"));
        assert_false(texists(t->dir, "root/var/log/app/a.log.1"));
}

/* A pidfile of another user (naming that user's process): not the log owner's. */
static void test_pidfile_of_another_user_is_refused(void **state)
{
        struct t *t = *state;

        user_log(t);
        pidfile(t, "root/run/app/w.pid", waiter(t, OTHER), OTHER);
        assert_int_equal(run_recipe(t, REOPEN("")), -EPERM);
        assert_false(signalled(t));
        assert_non_null(strstr(t->f->said, "not by root or by"));
}

/* A pidfile of root's that others (or a group other than root's) can write names whatever
 * process a user wants: refused. */
static void test_pidfile_others_can_write_is_refused(void **state)
{
        struct t *t = *state;
        char *p = p_(t, "root/run/app/w.pid");

        user_log(t);
        pidfile(t, "root/run/app/w.pid", waiter(t, 0), 0);
        assert_int_equal(chmod(p, 0666), 0);
        assert_int_equal(run_recipe(t, REOPEN("")), -EPERM);
        assert_false(signalled(t));
        assert_non_null(strstr(t->f->said, "can be written by others: not trusted, no signal"));
        assert_int_equal(chown(p, 0, OTHER), 0);
        assert_int_equal(chmod(p, 0664), 0);
        assert_int_equal(run_recipe(t, REOPEN("")), -EPERM);
        assert_false(signalled(t));
        assert_non_null(strstr(t->f->said, "can be written by its group"));
        free(p);
}

/* pid 1 is never signalled. */
static void test_pidfile_naming_pid_1_is_refused(void **state)
{
        struct t *t = *state;

        user_log(t);
        pidfile(t, "root/run/app/w.pid", 1, USER);
        assert_int_equal(run_recipe(t, REOPEN("")), -EPERM);
        assert_non_null(strstr(t->f->said, "other than 1"));
}

/* A pidfile in a directory anyone can write: anyone could have put it there. */
static void test_pidfile_in_a_directory_writable_by_others_is_refused(void **state)
{
        struct t *t = *state;

        user_log(t);
        pidfile(t, "root/run/app/w.pid", waiter(t, USER), USER);
        own(t, "root/run/app", 0, 01777);
        assert_int_equal(run_recipe(t, REOPEN("")), -EPERM);
        assert_false(signalled(t));
        assert_non_null(strstr(t->f->said, "others can write"));
}

/* A pidfile written before its process started names a pid that was reused. */
static void test_reused_pid_is_refused(void **state)
{
        struct t *t = *state;
        char *p = p_(t, "root/run/app/w.pid");
        struct timespec old[2] = { { .tv_sec = time(NULL) - 3600 }, { .tv_sec = time(NULL) - 3600 } };

        user_log(t);
        pidfile(t, "root/run/app/w.pid", waiter(t, USER), USER);
        assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
        assert_int_equal(run_recipe(t, REOPEN("")), -EPERM);
        assert_false(signalled(t));
        assert_non_null(strstr(t->f->said, "pid was reused"));
        free(p);
}

/* reopen.exe: the process must run that executable. */
static void test_reopen_exe_must_match(void **state)
{
        struct t *t = *state;
        char exe[4096], *attrs = NULL;
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

        assert_true(n > 0);
        exe[n] = '\0';
        user_log(t);
        pidfile(t, "root/run/app/w.pid", waiter(t, USER), USER);
        assert_int_equal(run_recipe(t, REOPEN(", \"exe\": \"/usr/sbin/nginx\"")), -EPERM);
        assert_false(signalled(t));
        assert_non_null(strstr(t->f->said, "not reopen.exe /usr/sbin/nginx"));
        assert_true(asprintf(&attrs, REOPEN(", \"exe\": \"%s\""), exe) > 0);
        assert_int_equal(run_recipe(t, attrs), 0);      /* the waiter runs this test's binary */
        reaped(t);
        free(attrs);
}

/* A unit is preferred to a pidfile: the forged pidfile is not even read. */
static void test_unit_is_preferred_to_a_pidfile(void **state)
{
        struct t *t = *state;
        const char *a = "{\"sets\": {\"app\": {\"paths\": [\"/var/log/app/a.log\"], \"size\": 1, \"compress\": \"none\","
                        " \"reopen\": {\"unit\": \"app.service\", \"pidfile\": \"/run/app/*.pid\", \"settle_ms\": 10}}}}";

        user_log(t);
        pidfile(t, "root/run/app/evil.pid", waiter(t, 0), USER);
        assert_int_equal(run_recipe(t, a), 0);
        assert_string_equal(t->f->killed_unit, "app.service");
        assert_false(signalled(t));
}

/* ---- su ---- */

/* su.user names whom the set is rotated as, in a child that has dropped root: in root's own
 * directory that user can rename nothing, and the log stays as it was; in a directory of that
 * user's, the rotation works and what it creates is that user's. */
static void test_su_user_rotates_as_that_user_only(void **state)
{
        struct t *t = *state;
        struct passwd *pw = getpwnam("nobody");
        struct stat st;
        char *log = p_(t, "root/var/log/app/a.log");

        if (!pw)
                skip();
        put(t, "root/var/log/app/a.log", "x\n", 0);
        assert_true(run_recipe(t, CREATE(", \"su\": {\"user\": \"nobody\"}")) < 0);
        assert_false(texists(t->dir, "root/var/log/app/a.log.1"));
        assert_int_equal(stat(log, &st), 0);
        assert_int_equal(st.st_size, 2);
        own(t, "root/var/log/app", pw->pw_uid, 0755);
        put(t, "root/var/log/app/a.log", "x\n", pw->pw_uid);
        assert_int_equal(run_recipe(t, CREATE(", \"su\": {\"user\": \"nobody\"}")), 0);
        assert_true(texists(t->dir, "root/var/log/app/a.log.1"));
        assert_int_equal(stat(log, &st), 0);
        assert_int_equal(st.st_uid, pw->pw_uid);
        assert_int_equal(st.st_size, 0);
        free(log);
}

/* An unknown su user refuses the set's logs, naming it. */
static void test_unknown_su_user_is_refused(void **state)
{
        struct t *t = *state;

        put(t, "root/var/log/app/a.log", "x\n", 0);
        assert_true(run_recipe(t, CREATE(", \"su\": {\"user\": \"no-such-user-lr\"}")) < 0);
        assert_non_null(strstr(t->f->said, "su.user \"no-such-user-lr\" of set app: no such user"));
        assert_false(texists(t->dir, "root/var/log/app/a.log.1"));
}

/* ---- reopen.command ---- */

#define COMMAND(cmd) "{\"sets\": {\"app\": {\"paths\": [\"/var/log/app/a.log\"], \"size\": 1," \
                     " \"compress\": \"none\", \"reopen\": {\"command\": " cmd ", \"settle_ms\": 10}}}}"

/* A reopen.command runs through spawn_command, which refuses it when it came from a file that
 * others could write: it does not run, and the run says so. */
static void test_reopen_command_from_an_untrusted_origin_never_runs(void **state)
{
        struct t *t = *state;
        char *attrs = NULL, *marker = p_(t, "pwned");

        put(t, "root/var/log/app/a.log", "x\n", 0);
        assert_true(asprintf(&attrs, COMMAND("[\"touch\", \"%s\"]"), marker) > 0);
        fake_free(t->f);
        t->f = fake_new(t->dir, attrs);
        t->f->spawn_refuse = true;
        (void)logrotate_run(&t->f->ctx);
        assert_string_equal(t->f->spawn_attr, "sets.app.reopen.command");
        assert_false(texists(t->dir, "pwned"));
        assert_non_null(strstr(t->f->said, "sets.app.reopen.command not run"));
        free(marker);
        free(attrs);
}

/* A user's log: its reopen.command runs as that user, not as root. */
static void test_reopen_command_runs_as_the_logs_owner(void **state)
{
        struct t *t = *state;

        put(t, "root/var/log/app/a.log", "x\n", USER);
        assert_int_equal(run_recipe(t, COMMAND("\"true\"")), 0);
        assert_string_equal(t->f->spawn_attr, "sets.app.reopen.command");
        assert_true(t->f->spawn_as_user);
        assert_int_equal(t->f->spawn_uid, USER);
        put(t, "root/var/log/app/a.log", "x\n", 0);
        assert_int_equal(run_recipe(t, COMMAND("\"true\"")), 0);
        assert_string_equal(t->f->spawn_attr, "sets.app.reopen.command");
        assert_false(t->f->spawn_as_user);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_link_on_the_way_to_a_log_is_refused),
                T(test_link_higher_on_the_way_is_refused),
                T(test_olddir_link_is_refused),
                T(test_no_right_to_drop_is_said),
                T(test_recovery_follows_no_link),
                T(test_recovery_in_a_users_directory_is_made_as_the_user),
                T(test_group_writable_dir_on_the_way_is_refused),
                T(test_olddir_created_through_no_link),
                T(test_hard_link_needs_allowhardlink),
                T(test_directory_writable_by_others_on_the_way_is_refused),
                T(test_rotation_in_a_users_directory_runs_as_that_user),
                T(test_pidfile_of_the_logs_owner_is_trusted),
                T(test_root_pidfile_of_a_root_process_is_trusted),
                T(test_users_pidfile_naming_a_root_process_is_refused),
                T(test_pidfile_of_another_user_is_refused),
                T(test_pidfile_others_can_write_is_refused),
                T(test_pidfile_naming_pid_1_is_refused),
                T(test_pidfile_in_a_directory_writable_by_others_is_refused),
                T(test_reused_pid_is_refused),
                T(test_reopen_exe_must_match),
                T(test_unit_is_preferred_to_a_pidfile),
                T(test_su_user_rotates_as_that_user_only),
                T(test_unknown_su_user_is_refused),
                T(test_reopen_command_from_an_untrusted_origin_never_runs),
                T(test_reopen_command_runs_as_the_logs_owner),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
