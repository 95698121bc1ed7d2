#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-bus.h>

#include "systemd.h"
#include "util/log.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"
#define JOBS_SEEN_MAX 256       /* finished jobs remembered while waiting for ours */

static uint64_t job_timeout_usec = SYSTEMD_JOB_TIMEOUT_USEC;

void systemd_set_job_timeout(uint64_t usec)
{
        job_timeout_usec = usec ? usec : SYSTEMD_JOB_TIMEOUT_USEC;
}

static uint64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int check_unit_name(const char *unit, struct error *err)
{
        size_t n = unit ? strlen(unit) : 0;

        if (n == 0 || n > SYSTEMD_UNIT_NAME_MAX || strchr(unit, '/') || !strchr(unit, '.'))
                return error_set(err, -EINVAL, "invalid systemd unit name \"%s\": expected NAME.TYPE, "
                                               "e.g. nginx.service, at most %d characters",
                                 unit ? unit : "(null)", SYSTEMD_UNIT_NAME_MAX);
        return 0;
}

static int open_bus(sd_bus **ret, struct error *err)
{
        int r = sd_bus_open_system(ret);

        if (r < 0)
                return error_set(err, r, "cannot connect to the system bus (%s): %s",
                                 getenv("DBUS_SYSTEM_BUS_ADDRESS") ? getenv("DBUS_SYSTEM_BUS_ADDRESS")
                                                                   : "/run/dbus/system_bus_socket",
                                 strerror(-r));
        return 0;
}

/* "UNIT: OPERATION failed: org.freedesktop...Error: message". Returns R. */
static int bus_fail(struct error *err, int r, const char *unit, const char *op, const sd_bus_error *e)
{
        if (e && sd_bus_error_is_set(e))
                return error_set(err, r, "%s: %s failed: %s: %s", unit, op, e->name,
                                 e->message ? e->message : strerror(-r));
        return error_set(err, r, "%s: %s failed: %s", unit, op, strerror(-r));
}

int systemd_kill_unit(const char *unit, int signo, struct error *err)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus *bus = NULL;
        int r;

        r = check_unit_name(unit, err);
        if (r < 0)
                return r;
        if (signo <= 0 || signo >= NSIG)
                return error_set(err, -EINVAL, "%s: cannot send signal %d: not a signal number", unit, signo);
        r = open_bus(&bus, err);
        if (r < 0)
                goto out;
        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "KillUnit", &e, NULL, "ssi", unit, "main",
                               (int32_t)signo);
        if (r < 0)
                bus_fail(err, r, unit, "KillUnit", &e);
        else
                r = 0;
out:
        sd_bus_error_free(&e);
        sd_bus_flush_close_unref(bus);
        return r;
}

static int unit_file_state(sd_bus *bus, const char *unit, char **ret, struct error *err)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *state;
        char *s;
        int r;

        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnitFileState", &e, &reply, "s", unit);
        if (r < 0) {
                bus_fail(err, r, unit, "GetUnitFileState", &e);
                goto out;
        }
        r = sd_bus_message_read(reply, "s", &state);
        if (r < 0) {
                bus_fail(err, r, unit, "reading the GetUnitFileState reply", NULL);
                goto out;
        }
        s = strdup(state);
        if (!s) {
                r = error_set(err, -ENOMEM, "%s: out of memory", unit);
                goto out;
        }
        *ret = s;
        r = 0;
out:
        sd_bus_message_unref(reply);
        sd_bus_error_free(&e);
        return r;
}

int systemd_unit_file_state(const char *unit, char **ret, struct error *err)
{
        sd_bus *bus = NULL;
        int r;

        r = check_unit_name(unit, err);
        if (r < 0)
                return r;
        r = open_bus(&bus, err);
        if (r >= 0)
                r = unit_file_state(bus, unit, ret, err);
        sd_bus_flush_close_unref(bus);
        return r;
}

/* The unit's ActiveState; "inactive" for a unit systemd has not loaded. Caller frees. */
static int active_state(sd_bus *bus, const char *unit, char **ret, struct error *err)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *path;
        char *state = NULL;
        int r;

        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &e, &reply, "s", unit);
        if (r < 0) {
                if (sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit")) {
                        state = strdup("inactive");
                        r = state ? 0 : error_set(err, -ENOMEM, "%s: out of memory", unit);
                        if (r == 0)
                                *ret = state;
                } else
                        bus_fail(err, r, unit, "GetUnit", &e);
                goto out;
        }
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0) {
                bus_fail(err, r, unit, "reading the GetUnit reply", NULL);
                goto out;
        }
        r = sd_bus_get_property_string(bus, SD_DEST, path, SD_UNIT, "ActiveState", &e, &state);
        if (r < 0) {
                bus_fail(err, r, unit, "reading ActiveState", &e);
                goto out;
        }
        *ret = state;
        r = 0;
out:
        sd_bus_message_unref(reply);
        sd_bus_error_free(&e);
        return r;
}

static bool is_active(const char *state)
{
        return strcmp(state, "active") == 0 || strcmp(state, "reloading") == 0 ||
               strcmp(state, "activating") == 0;
}

/* Unit file states in which there is nothing to enable. */
static bool cannot_enable(const char *state)
{
        static const char *const fixed[] = { "enabled", "static", "generated", "transient", "alias", "indirect" };

        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
                if (strcmp(state, fixed[i]) == 0)
                        return true;
        return false;
}

struct jobs {
        char *path[JOBS_SEEN_MAX];
        char *result[JOBS_SEEN_MAX];
        size_t n;
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        struct jobs *j = userdata;
        const char *path, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        if (j->n == JOBS_SEEN_MAX) {
                free(j->path[0]);
                free(j->result[0]);
                memmove(j->path, j->path + 1, (JOBS_SEEN_MAX - 1) * sizeof(j->path[0]));
                memmove(j->result, j->result + 1, (JOBS_SEEN_MAX - 1) * sizeof(j->result[0]));
                j->n--;
        }
        j->path[j->n] = strdup(path);
        j->result[j->n] = strdup(result);
        if (!j->path[j->n] || !j->result[j->n]) {
                free(j->path[j->n]);
                free(j->result[j->n]);
                return 0;
        }
        j->n++;
        return 0;
}

static void jobs_clear(struct jobs *j)
{
        for (size_t i = 0; i < j->n; i++) {
                free(j->path[i]);
                free(j->result[i]);
        }
        j->n = 0;
}

/* Starts or stops UNIT and waits for its job to finish. */
static int run_job(sd_bus *bus, struct jobs *jobs, const char *method, const char *unit, struct error *err)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *job;
        uint64_t deadline = now_usec() + job_timeout_usec;
        int r;

        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, method, &e, &reply, "ss", unit, "replace");
        if (r < 0) {
                bus_fail(err, r, unit, method, &e);
                goto out;
        }
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0) {
                bus_fail(err, r, unit, method, NULL);
                goto out;
        }
        for (;;) {
                uint64_t now;

                for (size_t i = 0; i < jobs->n; i++) {
                        if (strcmp(jobs->path[i], job) != 0)
                                continue;
                        if (strcmp(jobs->result[i], "done") == 0)
                                r = 0;
                        else
                                r = error_set(err, -EIO, "%s: %s job %s finished with result \"%s\"; see "
                                                         "`systemctl status %s` and `journalctl -u %s`",
                                              unit, method, job, jobs->result[i], unit, unit);
                        goto out;
                }
                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        bus_fail(err, r, unit, "waiting for the job", NULL);
                        goto out;
                }
                if (r > 0)
                        continue;
                now = now_usec();
                if (now >= deadline) {
                        r = error_set(err, -ETIME, "%s: %s job %s did not finish within %llu s; see "
                                                   "`systemctl status %s`",
                                      unit, method, job, (unsigned long long)(job_timeout_usec / 1000000), unit);
                        goto out;
                }
                r = sd_bus_wait(bus, deadline - now);
                if (r < 0 && r != -EINTR) {
                        bus_fail(err, r, unit, "waiting for the job", NULL);
                        goto out;
                }
        }
out:
        sd_bus_message_unref(reply);
        sd_bus_error_free(&e);
        return r;
}

static int unit_files_call(sd_bus *bus, const char *method, const char *unit, bool runtime, struct error *err)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, method);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, (char *[]){ (char *)unit, NULL });
        if (r >= 0)
                r = strcmp(method, "EnableUnitFiles") == 0 ? sd_bus_message_append(m, "bb", 0, 0)
                                                           : sd_bus_message_append(m, "b", (int)runtime);
        if (r < 0) {
                bus_fail(err, r, unit, method, NULL);
                goto out;
        }
        r = sd_bus_call(bus, m, 0, &e, NULL);
        if (r < 0)
                bus_fail(err, r, unit, method, &e);
        else
                r = 0;
out:
        sd_bus_message_unref(m);
        sd_bus_error_free(&e);
        return r;
}

static int manager_reload(sd_bus *bus, struct error *err)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "Reload", &e, NULL, "");
        if (r < 0)
                bus_fail(err, r, "systemd", "Reload", &e);
        else
                r = 0;
        sd_bus_error_free(&e);
        return r;
}

int systemd_units_set(enum opsagent_unit_action action, const char *const *units, bool dry_run,
                      struct error *err)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_slot *slot = NULL;
        sd_bus *bus = NULL;
        struct jobs jobs = { .n = 0 };
        char **file_state = NULL, **active = NULL;
        size_t n = 0;
        bool changed = false, files_changed = false;
        int r;

        if (action != OPSAGENT_UNIT_ENABLE_START && action != OPSAGENT_UNIT_DISABLE_STOP)
                return error_set(err, -EINVAL, "unknown unit action %d", (int)action);
        if (!units)
                return 0;
        for (; units[n]; n++) {
                r = check_unit_name(units[n], err);
                if (r < 0)
                        return r;
        }
        if (n == 0)
                return 0;
        file_state = calloc(n, sizeof(*file_state));
        active = calloc(n, sizeof(*active));
        if (!file_state || !active) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        r = open_bus(&bus, err);
        if (r < 0)
                goto out;

        /* Read every state first: nothing is touched when one unit is unknown or masked. */
        for (size_t i = 0; i < n; i++) {
                r = unit_file_state(bus, units[i], &file_state[i], err);
                if (r < 0)
                        goto out;
                r = active_state(bus, units[i], &active[i], err);
                if (r < 0)
                        goto out;
                if (action == OPSAGENT_UNIT_ENABLE_START && strncmp(file_state[i], "masked", 6) == 0) {
                        r = error_set(err, -EPERM, "%s: cannot enable and start a masked unit; unmask it "
                                                   "with `systemctl unmask %s`",
                                      units[i], units[i]);
                        goto out;
                }
        }

        for (size_t i = 0; i < n; i++) {
                if (action == OPSAGENT_UNIT_ENABLE_START)
                        changed |= !cannot_enable(file_state[i]) || !is_active(active[i]);
                else
                        changed |= is_active(active[i]) || strcmp(file_state[i], "enabled") == 0 ||
                                   strcmp(file_state[i], "enabled-runtime") == 0;
        }
        if (dry_run || !changed) {
                r = changed ? 1 : 0;
                goto out;
        }

        /* Job results arrive as signals; systemd sends them to subscribers only. */
        r = sd_bus_match_signal(bus, &slot, NULL, SD_PATH, SD_MANAGER, "JobRemoved", on_job_removed, &jobs);
        if (r < 0) {
                bus_fail(err, r, "systemd", "watching JobRemoved", NULL);
                goto out;
        }
        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", &e, NULL, "");
        if (r < 0)
                log_debug("systemd Subscribe failed (%s); waiting for jobs anyway", e.message ? e.message : "");
        sd_bus_error_free(&e);

        if (action == OPSAGENT_UNIT_ENABLE_START) {
                for (size_t i = 0; i < n; i++) {
                        if (cannot_enable(file_state[i]))
                                continue;
                        r = unit_files_call(bus, "EnableUnitFiles", units[i], false, err);
                        if (r < 0)
                                goto out;
                        files_changed = true;
                }
                if (files_changed) {
                        r = manager_reload(bus, err);
                        if (r < 0)
                                goto out;
                }
                for (size_t i = 0; i < n; i++) {
                        if (is_active(active[i]))
                                continue;
                        r = run_job(bus, &jobs, "StartUnit", units[i], err);
                        if (r < 0)
                                goto out;
                }
        } else {
                for (size_t i = 0; i < n; i++) {
                        if (!is_active(active[i]))
                                continue;
                        r = run_job(bus, &jobs, "StopUnit", units[i], err);
                        if (r < 0)
                                goto out;
                }
                for (size_t i = 0; i < n; i++) {
                        bool runtime = strcmp(file_state[i], "enabled-runtime") == 0;

                        if (!runtime && strcmp(file_state[i], "enabled") != 0)
                                continue;
                        r = unit_files_call(bus, "DisableUnitFiles", units[i], runtime, err);
                        if (r < 0)
                                goto out;
                        files_changed = true;
                }
                if (files_changed) {
                        r = manager_reload(bus, err);
                        if (r < 0)
                                goto out;
                }
        }
        r = 1;
out:
        sd_bus_slot_unref(slot);
        jobs_clear(&jobs);
        for (size_t i = 0; file_state && i < n; i++)
                free(file_state[i]);
        for (size_t i = 0; active && i < n; i++)
                free(active[i]);
        free(file_state);
        free(active);
        sd_bus_error_free(&e);
        sd_bus_flush_close_unref(bus);
        return r;
}
