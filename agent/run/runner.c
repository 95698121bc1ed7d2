#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctx_aws.h"
#include "events.h"
#include "lock.h"
#include "records.h"
#include "runner.h"
#include "config/trust.h"
#include "util/fileio.h"
#include "util/jsonutil.h"
#include "util/log.h"
#include "util/timeutil.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
        interrupted = sig;
}

static unsigned budget_seconds(struct attrs *a, const struct opsagent_recipe *r)
{
        char path[256];
        json_object *v;

        snprintf(path, sizeof(path), "%s.time_budget_seconds", r->attr_root);
        v = attrs_get(a, path);
        if (v && json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0)
                return (unsigned)json_object_get_int64(v);
        return r->time_budget_seconds;
}

static void child_main(const struct plugin *pl, int (*entry)(struct opsagent_ctx *ctx), struct attrs *a,
                       const struct paths *p, const char *run_id, const char *state_dir, bool dry_run,
                       uint64_t deadline, int fd)
{
        struct ctx_core core;
        int r;

        setpgid(0, 0);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        log_set_context(pl->recipe->name, run_id);
        ctx_setup(&core, pl->recipe, attrs_tree(a), run_id, p->root, state_dir, p->state_dir, dry_run, deadline, fd);
        core.origins = a; /* where each value came from: commands from configuration need to know */
        ctx_aws_attach(&core);
        r = entry(&core.pub);
        if (r >= 0 && ctx_fail_reason(&core))
                /* Reasons recorded by a recipe that then succeeded: said, not lost. */
                log_warning("%s", ctx_fail_reason(&core));
        if (r < 0 && !ctx_fail_reason(&core)) {
                char msg[256];

                if (r == OPSAGENT_RUN_CONFIG_ERROR)
                        snprintf(msg, sizeof(msg), "configuration error (the recipe did not say which)");
                else
                        snprintf(msg, sizeof(msg), "failed: %s", strerror(-r));
                (void)events_send_fail(fd, msg);
        }
        if (events_send_changes(fd, ctx_changes(&core)) < 0 || events_send_done(fd, r < 0 ? r : 0) < 0)
                _exit(70);
        ctx_done(&core);
        fflush(stdout);
        fflush(stderr);
        _exit(r < 0 ? 1 : 0);
}

/* Reads what is available; false at EOF. */
static bool drain(int fd, struct events_reader *ev)
{
        char chunk[4096];

        for (;;) {
                ssize_t k = read(fd, chunk, sizeof(chunk));

                if (k > 0) {
                        events_reader_feed(ev, chunk, (size_t)k);
                        continue;
                }
                if (k == 0)
                        return false;
                if (errno == EINTR)
                        continue;
                return true; /* EAGAIN */
        }
}

static char *describe_signal(int sig)
{
        char *s = NULL;

        if (asprintf(&s, "killed by signal SIG%s (%s)", sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
                     strsignal(sig)) < 0)
                return NULL;
        return s;
}

/* Runs one recipe in a child and fills REC's outcome, error and metrics. */
static void run_child(const struct plugin *pl, struct attrs *a, const struct paths *p, const struct run_options *o,
                      const char *state_dir, struct run_record *rec)
{
        struct events_reader ev;
        unsigned budget = o->recover ? RUNNER_RECOVER_BUDGET_SECONDS : budget_seconds(a, pl->recipe);
        uint64_t start = now_monotonic_usec(), deadline = budget ? start + (uint64_t)budget * 1000000u : 0;
        uint64_t kill_at = 0;
        bool exited = false, timed_out = false, eof = false;
        int fds[2] = { -1, -1 }, status = 0;
        pid_t pid;

        events_reader_init(&ev);
        if (pipe2(fds, O_CLOEXEC) < 0) {
                rec->outcome = RUN_FAILED;
                rec->error = strdup("cannot start the recipe: out of resources");
                goto out;
        }
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) {
                rec->outcome = RUN_FAILED;
                rec->error = strdup("cannot start the recipe: fork failed");
                goto out;
        }
        if (pid == 0) {
                close(fds[0]);
                child_main(pl, o->recover ? plugin_recover(pl) : pl->recipe->run, a, p, rec->run_id, state_dir,
                           o->dry_run, deadline, fds[1]);
        }
        setpgid(pid, pid);
        close(fds[1]);
        fds[1] = -1;
        fcntl(fds[0], F_SETFL, O_NONBLOCK);

        while (!exited) {
                struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
                uint64_t now = now_monotonic_usec();
                int wait_ms = 100;

                if (!timed_out && deadline && now >= deadline) {
                        timed_out = true;
                        kill(-pid, SIGTERM);
                        kill_at = now + RUNNER_KILL_GRACE_USEC;
                } else if (!timed_out && interrupted && !kill_at) {
                        kill(-pid, SIGTERM);
                        kill_at = now + RUNNER_KILL_GRACE_USEC;
                }
                if (kill_at && now >= kill_at) {
                        kill(-pid, SIGKILL);
                        kill_at = UINT64_MAX;
                }
                if (!eof) {
                        if (poll(&pfd, 1, wait_ms) > 0)
                                eof = !drain(fds[0], &ev);
                } else
                        poll(NULL, 0, 20);
                if (waitpid(pid, &status, WNOHANG) == pid)
                        exited = true;
        }
        if (!eof)
                drain(fds[0], &ev);
        events_reader_finish(&ev);
        if (ev.metrics_dropped > 0)
                log_warning("%s: more than %u metrics in one run; %zu were dropped", pl->recipe->name,
                            EVENTS_MAX_METRICS, ev.metrics_dropped);
        if (ev.malformed > 0)
                log_debug("%s: ignored %zu malformed events from the recipe", pl->recipe->name, ev.malformed);
        /* Whatever the recipe started in its group goes with it. */
        kill(-pid, SIGKILL);

        if (timed_out) {
                rec->outcome = RUN_TIMED_OUT;
                if (o->recover ? asprintf(&rec->error, "recover timed out after %u s", budget) < 0
                               : asprintf(&rec->error, "timed out after %u s (time budget: %s.time_budget_seconds)",
                                          budget, pl->recipe->attr_root) < 0)
                        rec->error = NULL;
        } else if (interrupted) {
                rec->outcome = RUN_INTERRUPTED;
                rec->error = strdup("interrupted");
        } else if (WIFSIGNALED(status)) {
                rec->outcome = RUN_CRASHED;
                rec->error = describe_signal(WTERMSIG(status));
        } else if (!ev.done) {
                rec->outcome = RUN_FAILED;
                if (asprintf(&rec->error, "exited with status %d before finishing (a recipe must return from run())",
                             WEXITSTATUS(status)) < 0)
                        rec->error = NULL;
        } else if (ev.done_code == OPSAGENT_RUN_CONFIG_ERROR) {
                rec->outcome = RUN_CONFIG_ERROR;
                rec->error = strdup(ev.fail ? ev.fail : "configuration error");
        } else if (ev.done_code < 0 || WEXITSTATUS(status) != 0) {
                rec->outcome = RUN_FAILED;
                rec->error = strdup(ev.fail ? ev.fail : "failed");
        } else
                rec->outcome = RUN_SUCCESS;
        rec->changes = ev.changes;
out:
        rec->metrics = ev.metrics;
        ev.metrics = (struct metric_batch)METRIC_BATCH_INIT;
        events_reader_clear(&ev);
        if (fds[0] >= 0)
                close(fds[0]);
        if (fds[1] >= 0)
                close(fds[1]);
}

/* The recipe's private state directory, created if need be, into *ret (caller frees). */
static int recipe_state_dir(const struct paths *p, const char *name, char **ret)
{
        struct error err = ERROR_INIT;
        char *rel = NULL, *dir = NULL;
        int r;

        if (asprintf(&rel, "recipes/%s", name) < 0 || !(dir = path_join(p->state_dir, rel))) {
                log_error("out of memory");
                r = -ENOMEM;
                goto out;
        }
        r = mkdir_p(dir, 0700);
        if (r < 0) {
                log_error_errno(r, "%s: cannot create the state directory %s: %s", name, dir, strerror(-r));
                goto out;
        }
        /* What a recipe keeps there (a freeze marker, a rotation journal) steers its next run. */
        r = trust_check(dir, "recipe state directory", 0, &err);
        if (r < 0) {
                log_error("%s: %s", name, err.msg);
                goto out;
        }
        *ret = dir;
        dir = NULL;
out:
        free(dir);
        free(rel);
        return r;
}


/* A random 128-bit id in sd-id128's form (32 lower-case hex digits, UUID v4 bits set), as
 * sd_id128_randomize() makes it: from getrandom(2) here, because calling into libsystemd for it
 * faulted in about 200 KiB of its code in every run. Up to 256 bytes, getrandom() fills the
 * whole buffer or fails (no short reads); it can be interrupted only while it waits for the
 * kernel's pool at boot. Should it fail, the id is all zeros but for the version bits, as
 * before. */
void runner_new_run_id(char id_ret[static RUNNER_RUN_ID_HEX + 1])
{
        static const char hex[] = "0123456789abcdef";
        uint8_t b[16];
        ssize_t n;

        do
                n = getrandom(b, sizeof(b), 0);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t)sizeof(b))
                memset(b, 0, sizeof(b));
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        for (size_t i = 0; i < sizeof(b); i++) {
                id_ret[2 * i] = hex[b[i] >> 4];
                id_ret[2 * i + 1] = hex[b[i] & 15];
        }
        id_ret[RUNNER_RUN_ID_HEX] = 0;
}

/* How one recipe's turn ended. */
enum turn {
        TURN_OK,
        TURN_FAILED,
        TURN_CONFIG_ERROR,
        TURN_LOCKED,
};

/* What a run and a recovery start with: takes NAME's lock (TURN_LOCKED, saying WHAT, while a run
 * holds it), names a new run in REC and makes the recipe's state directory. On TURN_OK the caller
 * releases *RET_LOCK and frees *RET_STATE_DIR; on anything else there is nothing to release. */
static enum turn begin_recipe(const struct paths *p, const char *name, const char *what, struct run_lock **ret_lock,
                              struct run_record *rec, char **ret_state_dir)
{
        pid_t holder = 0;
        int r = run_lock_acquire(p->run_dir, name, ret_lock, &holder);

        if (r == -EBUSY) {
                if (holder > 0)
                        log_error("%s: another run holds the lock (pid %d); %s", name, (int)holder, what);
                else
                        log_error("%s: another run holds the lock; %s", name, what);
                return TURN_LOCKED;
        }
        if (r < 0) {
                log_error_errno(r, "%s: cannot take the lock in %s: %s", name, p->run_dir, strerror(-r));
                return TURN_FAILED;
        }
        runner_new_run_id(rec->run_id);
        snprintf(rec->recipe, sizeof(rec->recipe), "%s", name);
        if (recipe_state_dir(p, name, ret_state_dir) < 0) {
                run_lock_release(*ret_lock);
                *ret_lock = NULL;
                return TURN_FAILED;
        }
        return TURN_OK;
}

static enum turn run_one(const struct paths *p, struct attrs *a, const struct plugin *pl, const struct run_options *o,
                         size_t *changes)
{
        const char *name = pl->recipe->name;
        struct run_record rec = { 0 };
        struct run_lock *lock = NULL;
        char *state_dir = NULL, dur[32];
        enum turn t;
        json_object *v;
        int r;

        t = begin_recipe(p, name, "not started", &lock, &rec, &state_dir);
        if (t != TURN_OK)
                return t;
        rec.dry_run = o->dry_run;
        rec.start_usec = now_realtime_usec();
        /* Every line about the run, the agent's as the recipe's, carries its RECIPE= and RUN_ID=;
         * the outcome line, with OPSAGENT_OUTCOME=, is the last of them. */
        log_set_context(name, rec.run_id);
        log_say_fields(LOG_NOTICE, o->dry_run ? NULL : &(struct log_fields){ .message_id = RUNNER_MESSAGE_STARTED },
                       "%s: %s (run %.8s)", name, o->dry_run ? "planning (dry run)" : "running", rec.run_id);
        run_child(pl, a, p, o, state_dir, &rec);
        rec.end_usec = now_realtime_usec();
        t = rec.outcome == RUN_SUCCESS ? TURN_OK : rec.outcome == RUN_CONFIG_ERROR ? TURN_CONFIG_ERROR : TURN_FAILED;

        r = records_write(p->state_dir, &rec);
        if (r < 0)
                log_warning_errno(r, "%s: cannot write the run record under %s: %s", name, p->state_dir, strerror(-r));
        else {
                int64_t keep = RECORDS_DEFAULT_KEEP, days = RECORDS_DEFAULT_MAX_AGE_DAYS;
                size_t removed = 0;

                v = attrs_get(a, "opsagent.records.keep");
                if (v)
                        keep = json_object_get_int64(v);
                v = attrs_get(a, "opsagent.records.max_age_days");
                if (v)
                        days = json_object_get_int64(v);
                r = records_prune(p->state_dir, (size_t)keep, days * 86400, now_realtime_usec(), &removed);
                if (r < 0)
                        log_warning_errno(r, "cannot prune old run records: %s", strerror(-r));
        }
        if (o->after_run)
                o->after_run(o->userdata, a, p, &rec);

        format_duration(rec.end_usec - rec.start_usec, dur, sizeof(dur));
        if (t == TURN_OK)
                log_say_fields(LOG_NOTICE,
                               &(struct log_fields){ .message_id = o->dry_run ? NULL : RUNNER_MESSAGE_SUCCEEDED,
                                                     .outcome = run_outcome_to_string(rec.outcome) },
                               "%s: %s in %s", name, o->dry_run ? "planned" : "succeeded", dur);
        else
                log_say_fields(LOG_ERR,
                               &(struct log_fields){ .message_id = o->dry_run ? NULL : RUNNER_MESSAGE_FAILED,
                                                     .outcome = run_outcome_to_string(rec.outcome) },
                               "%s: FAILED after %s%s: %s", name, dur,
                               t == TURN_CONFIG_ERROR ? " (configuration error)" : "",
                               rec.error ? rec.error : "unknown error");
        log_set_context(NULL, NULL);
        *changes += rec.changes;
        run_record_clear(&rec);
        run_lock_release(lock);
        free(state_dir);
        return t;
}

/* One recipe's recover(), in a child like a run, under the recipe's lock; no run record. */
static enum turn recover_one(const struct paths *p, struct attrs *a, const struct plugin *pl,
                             const struct run_options *o)
{
        const char *name = pl->recipe->name;
        struct run_record rec = { 0 };
        struct run_lock *lock = NULL;
        char *state_dir = NULL;
        enum turn t;

        if (!plugin_recover(pl)) {
                log_info("%s: nothing to recover: the recipe has no recover step", name);
                return TURN_OK;
        }
        t = begin_recipe(p, name, "nothing is recovered while it runs", &lock, &rec, &state_dir);
        if (t != TURN_OK)
                return t;
        log_info("%s: running its recover step%s (what a killed run may have left)", name,
                 o->dry_run ? " (dry run)" : "");
        log_set_context(name, rec.run_id);
        run_child(pl, a, p, o, state_dir, &rec);
        log_set_context(NULL, NULL);
        if (rec.outcome == RUN_SUCCESS) {
                log_info("%s: recover step done%s (it says what it undid; nothing said: nothing was left over)",
                         name, o->dry_run ? ", dry run" : "");
                t = TURN_OK;
        } else if (rec.outcome == RUN_CONFIG_ERROR) {
                log_error("%s: recover FAILED (configuration error): %s", name, rec.error ? rec.error : "?");
                t = TURN_CONFIG_ERROR;
        } else {
                log_error("%s: recover FAILED: %s", name, rec.error ? rec.error : "unknown error");
                t = TURN_FAILED;
        }
        run_record_clear(&rec);
        run_lock_release(lock);
        free(state_dir);
        return t;
}

void runner_run(const struct paths *p, struct attrs *a, const struct plugin *const *recipes, size_t n,
                const struct run_options *o, struct runner_summary *ret)
{
        struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
        struct runner_summary sum = { 0 };

        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);
        for (size_t i = 0; i < n && !interrupted; i++) {
                switch (o->recover ? recover_one(p, a, recipes[i], o) : run_one(p, a, recipes[i], o, &sum.changes)) {
                case TURN_OK:
                        sum.succeeded++;
                        break;
                case TURN_FAILED:
                        sum.failed++;
                        break;
                case TURN_CONFIG_ERROR:
                        sum.config_errors++;
                        break;
                case TURN_LOCKED:
                        sum.locked++;
                        break;
                }
        }
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sum.interrupted = interrupted != 0;
        *ret = sum;
}
