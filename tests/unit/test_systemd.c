/* systemd: the calls made to systemd's Manager, checked against python3-dbusmock's systemd
 * template on a private system-like dbus-daemon (DBUS_SYSTEM_BUS_ADDRESS points at it). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <systemd/sd-bus.h>

#include "run/systemd.h"
#include "util/buf.h"
#include "util/fileio.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define MOCK_IFACE "org.freedesktop.DBus.Mock"
#define PYTHON "/usr/bin/python3"
#define STARTUP_WAIT_SEC 60  /* for the mock to own its name (slow under sanitizers) */

static struct {
        char dir[64];
        pid_t daemon, mock;
        const char *skip_reason;
        sd_bus *bus;
} env;

static const char bus_conf[] =
        "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
        " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
        "<busconfig>\n"
        "  <type>system</type>\n"
        "  <listen>unix:path=%s/system_bus_socket</listen>\n"
        "  <auth>EXTERNAL</auth>\n"
        "  <policy context=\"default\">\n"
        "    <allow user=\"*\"/>\n"
        "    <allow own=\"*\"/>\n"
        "    <allow send_type=\"method_call\"/>\n"
        "    <allow send_type=\"signal\"/>\n"
        "    <allow send_type=\"method_return\"/>\n"
        "    <allow send_type=\"error\"/>\n"
        "    <allow receive_type=\"method_call\"/>\n"
        "    <allow receive_type=\"signal\"/>\n"
        "    <allow receive_type=\"method_return\"/>\n"
        "    <allow receive_type=\"error\"/>\n"
        "  </policy>\n"
        "</busconfig>\n";

/* Methods the systemd template lacks, as dbusmock runs them (Python): name, in, out, code. */
static const char *const extra_methods[][4] = {
        { "GetUnitFileState", "s", "s",
          "if args[0] not in self.units:\n"
          "    raise dbus.exceptions.DBusException('No such file or directory',"
          " name='org.freedesktop.DBus.Error.FileNotFound')\n"
          "ret = getattr(self, 'ufs', {}).get(args[0], 'disabled')\n" },
        { "EnableUnitFiles", "asbb", "ba(sss)",
          "self.ufs = getattr(self, 'ufs', {})\n"
          "for f in args[0]:\n"
          "    self.ufs[f] = 'enabled'\n"
          "ret = (True, [('symlink', '/etc/systemd/system/multi-user.target.wants/' + f,"
          " '/lib/systemd/system/' + f) for f in args[0]])\n" },
        { "DisableUnitFiles", "asb", "a(sss)",
          "self.ufs = getattr(self, 'ufs', {})\n"
          "for f in args[0]:\n"
          "    self.ufs[f] = 'disabled'\n"
          "ret = [('unlink', '/etc/systemd/system/multi-user.target.wants/' + f, '') for f in args[0]]\n" },
        { "KillUnit", "ssi", "",
          "if args[0] not in self.units:\n"
          "    raise dbus.exceptions.DBusException('Unit %s not loaded.' % args[0],"
          " name='org.freedesktop.systemd1.NoSuchUnit')\n" },
        { "Reload", "", "", "" },
        { "Subscribe", "", "", "" },
        { "MockSetUnitFileState", "ss", "",
          "self.ufs = getattr(self, 'ufs', {})\n"
          "self.ufs[args[0]] = args[1]\n" },
};

static int group_teardown(void **state);

static bool have_python_dbusmock(void)
{
        return system(PYTHON " -c 'import dbusmock' >/dev/null 2>&1") == 0;
}

static const char *find_dbus_daemon(void)
{
        static const char *const candidates[] = { "/usr/bin/dbus-daemon", "/bin/dbus-daemon",
                                                  "/usr/local/bin/dbus-daemon" };

        for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
                if (access(candidates[i], X_OK) == 0)
                        return candidates[i];
        return NULL;
}

/* Starts dbus-daemon with our config; returns its address (caller frees) or NULL. */
static char *start_daemon(const char *daemon)
{
        char conf[128], *text = NULL, addr[512];
        int p[2];
        ssize_t n;
        size_t len = 0;

        snprintf(conf, sizeof(conf), "%s/bus.conf", env.dir);
        if (asprintf(&text, bus_conf, env.dir) < 0)
                return NULL;
        if (write_file_atomic(conf, text, strlen(text), 0644) < 0) {
                free(text);
                return NULL;
        }
        free(text);
        if (pipe(p) < 0)
                return NULL;
        env.daemon = fork();
        if (env.daemon < 0)
                return NULL;
        if (env.daemon == 0) {
                char conf_arg[160];

                snprintf(conf_arg, sizeof(conf_arg), "--config-file=%s", conf);
                close(p[0]);
                if (dup2(p[1], 3) < 0)
                        _exit(127);
                execl(daemon, "dbus-daemon", conf_arg, "--nofork", "--nopidfile", "--print-address=3",
                      (char *)NULL);
                _exit(127);
        }
        close(p[1]);
        while (len < sizeof(addr) - 1 && (n = read(p[0], addr + len, sizeof(addr) - 1 - len)) > 0) {
                len += (size_t)n;
                if (memchr(addr, '\n', len))
                        break;
        }
        close(p[0]);
        addr[len] = '\0';
        if (!strchr(addr, '\n'))
                return NULL;
        *strchr(addr, '\n') = '\0';
        return strdup(addr);
}

static pid_t start_mock(void)
{
        char log[128];
        pid_t pid = fork();

        if (pid != 0)
                return pid;
        snprintf(log, sizeof(log), "%s/mock.log", env.dir);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
                _exit(127);
        execl(PYTHON, "python3", "-m", "dbusmock", "--template", "systemd", (char *)NULL);
        _exit(127);
}

static bool mock_owns_name(void)
{
        sd_bus_message *reply = NULL;
        int owned = 0;

        if (sd_bus_call_method(env.bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", NULL, &reply, "s", SD_DEST) < 0)
                return false;
        if (sd_bus_message_read(reply, "b", &owned) < 0)
                owned = 0;
        sd_bus_message_unref(reply);
        return owned;
}

static int group_setup(void **state)
{
        const char *daemon = find_dbus_daemon();
        char *addr;
        int waited_ms = 0;

        if (!daemon) {
                env.skip_reason = "dbus-daemon not found (install the dbus-daemon package)";
                return 0;
        }
        if (!have_python_dbusmock()) {
                env.skip_reason = PYTHON " cannot import dbusmock (install python3-dbusmock)";
                return 0;
        }
        strcpy(env.dir, "/tmp/opsagent-systemd-XXXXXX");
        if (!mkdtemp(env.dir)) {
                env.dir[0] = '\0';
                return -1;
        }
        addr = start_daemon(daemon);
        if (!addr) {
                fprintf(stderr, "dbus-daemon did not print its address\n");
                goto fail;
        }
        setenv("DBUS_SYSTEM_BUS_ADDRESS", addr, 1);
        free(addr);
        env.mock = start_mock();
        if (env.mock < 0 || sd_bus_open_system(&env.bus) < 0)
                goto fail;
        while (!mock_owns_name()) {
                struct timespec ts = { 0, 50 * 1000 * 1000 };

                if (waited_ms >= STARTUP_WAIT_SEC * 1000 || waitpid(env.mock, NULL, WNOHANG) != 0) {
                        fprintf(stderr, "the dbusmock systemd template did not come up (see %s/mock.log)\n",
                                env.dir);
                        goto fail;
                }
                nanosleep(&ts, NULL);
                waited_ms += 50;
        }
        for (size_t i = 0; i < sizeof(extra_methods) / sizeof(extra_methods[0]); i++) {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                int r = sd_bus_call_method(env.bus, SD_DEST, SD_PATH, MOCK_IFACE, "AddMethod", &e, NULL, "sssss",
                                           SD_MANAGER, extra_methods[i][0], extra_methods[i][1],
                                           extra_methods[i][2], extra_methods[i][3]);

                if (r < 0) {
                        fprintf(stderr, "AddMethod %s: %s\n", extra_methods[i][0], e.message);
                        sd_bus_error_free(&e);
                        goto fail;
                }
        }
        return 0;
fail:
        group_teardown(state);
        return -1;
}

static void stop(pid_t pid)
{
        if (pid > 0) {
                kill(pid, SIGTERM);
                waitpid(pid, NULL, 0);
        }
}

static int group_teardown(void **state)
{
        char cmd[128];

        sd_bus_flush_close_unref(env.bus);
        stop(env.mock);
        stop(env.daemon);
        if (env.dir[0]) {
                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", env.dir);
                if (system(cmd) != 0)
                        return -1;
        }
        return 0;
}

static int setup(void **state)
{
        if (env.skip_reason)
                return 0;
        return sd_bus_call_method(env.bus, SD_DEST, SD_PATH, MOCK_IFACE, "ClearCalls", NULL, NULL, "") < 0 ? -1
                                                                                                             : 0;
}

#define REQUIRE_BUS()                                                   \
        do {                                                            \
                if (env.skip_reason) {                                  \
                        printf("# SKIP: %s\n", env.skip_reason);        \
                        skip();                                         \
                }                                                       \
        } while (0)

static void add_unit(const char *unit, const char *file_state, const char *active_state)
{
        char path[256];
        size_t k = strlen(SD_PATH "/unit/");

        assert_true(sd_bus_call_method(env.bus, SD_DEST, SD_PATH, MOCK_IFACE, "AddMockUnit", NULL, NULL, "s",
                                       unit) >= 0);
        assert_true(sd_bus_call_method(env.bus, SD_DEST, SD_PATH, SD_MANAGER, "MockSetUnitFileState", NULL, NULL,
                                       "ss", unit, file_state) >= 0);
        /* The template's object path: '.' and '-' become '_'. */
        snprintf(path, sizeof(path), SD_PATH "/unit/%s", unit);
        for (char *p = path + k; *p; p++)
                if (*p == '.' || *p == '-')
                        *p = '_';
        assert_true(sd_bus_call_method(env.bus, SD_DEST, path, MOCK_IFACE, "UpdateProperties", NULL, NULL,
                                       "sa{sv}", "org.freedesktop.systemd1.Unit", 1, "ActiveState", "s",
                                       active_state) >= 0);
        assert_true(sd_bus_call_method(env.bus, SD_DEST, SD_PATH, MOCK_IFACE, "ClearCalls", NULL, NULL, "") >= 0);
}

static int put_variant(sd_bus_message *m, struct buf *b)
{
        const char *contents = NULL, *s;
        char type;
        int r, v;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, contents);
        if (r < 0)
                return r;
        if (strcmp(contents, "s") == 0 || strcmp(contents, "o") == 0) {
                r = sd_bus_message_read_basic(m, contents[0], &s);
                if (r >= 0)
                        r = buf_printf(b, " %s", s);
        } else if (strcmp(contents, "b") == 0) {
                r = sd_bus_message_read_basic(m, 'b', &v);
                if (r >= 0)
                        r = buf_puts(b, v ? " true" : " false");
        } else if (strcmp(contents, "i") == 0) {
                r = sd_bus_message_read_basic(m, 'i', &v);
                if (r >= 0)
                        r = buf_printf(b, " %d", v);
        } else if (strcmp(contents, "as") == 0) {
                char **strv = NULL;

                r = sd_bus_message_read_strv(m, &strv);
                if (r >= 0) {
                        r = buf_puts(b, " [");
                        for (size_t i = 0; r >= 0 && strv && strv[i]; i++)
                                r = buf_printf(b, "%s%s", i ? "," : "", strv[i]);
                        if (r >= 0)
                                r = buf_puts(b, "]");
                }
                for (size_t i = 0; strv && strv[i]; i++)
                        free(strv[i]);
                free(strv);
        } else {
                r = sd_bus_message_skip(m, contents);
                if (r >= 0)
                        r = buf_puts(b, " ?");
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* The calls recorded by the mock's Manager since the last ClearCalls, one per line
 * ("StartUnit a.service replace"); with CHANGES_ONLY, the reads are left out. */
static char *recorded_calls(bool changes_only)
{
        static const char *const reads[] = { "GetUnitFileState", "GetUnit", "Subscribe", "MockSetUnitFileState" };
        struct buf b = BUF_INIT(1 << 20);
        sd_bus_message *reply = NULL;
        const char *name;
        uint64_t ts;
        int r;

        assert_true(sd_bus_call_method(env.bus, SD_DEST, SD_PATH, MOCK_IFACE, "GetCalls", NULL, &reply, "") >= 0);
        assert_true(sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "(tsav)") >= 0);
        while ((r = sd_bus_message_enter_container(reply, SD_BUS_TYPE_STRUCT, "tsav")) > 0) {
                bool skip_it = false;

                assert_true(sd_bus_message_read(reply, "ts", &ts, &name) >= 0);
                for (size_t i = 0; changes_only && i < sizeof(reads) / sizeof(reads[0]); i++)
                        skip_it |= strcmp(name, reads[i]) == 0;
                if (skip_it) {
                        assert_true(sd_bus_message_skip(reply, "av") >= 0);
                } else {
                        assert_int_equal(buf_puts(&b, name), 0);
                        assert_true(sd_bus_message_enter_container(reply, SD_BUS_TYPE_ARRAY, "v") >= 0);
                        while (!sd_bus_message_at_end(reply, false))
                                assert_true(put_variant(reply, &b) >= 0);
                        assert_true(sd_bus_message_exit_container(reply) >= 0);
                        assert_int_equal(buf_puts(&b, "\n"), 0);
                }
                assert_true(sd_bus_message_exit_container(reply) >= 0);
        }
        assert_true(r >= 0);
        sd_bus_message_unref(reply);
        return buf_steal(&b);
}

static void assert_changes(const char *want)
{
        char *got = recorded_calls(true);

        assert_non_null(got);
        assert_string_equal(got, want);
        free(got);
}

static void test_unit_file_state(void **state)
{
        struct error err = ERROR_INIT;
        char *s = NULL;

        REQUIRE_BUS();
        add_unit("fs-enabled.service", "enabled", "inactive");
        assert_int_equal(systemd_unit_file_state("fs-enabled.service", &s, &err), 0);
        assert_string_equal(s, "enabled");
        free(s);
        assert_int_equal(systemd_unit_file_state("fs-nowhere.service", &s, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "fs-nowhere.service"));
        assert_non_null(strstr(err.msg, "org.freedesktop.DBus.Error.FileNotFound"));
        assert_non_null(strstr(err.msg, "GetUnitFileState"));
}

static void test_kill_unit(void **state)
{
        struct error err = ERROR_INIT;

        REQUIRE_BUS();
        add_unit("kill-me.service", "enabled", "active");
        assert_int_equal(systemd_kill_unit("kill-me.service", SIGHUP, &err), 0);
        assert_changes("KillUnit kill-me.service main 1\n");
}

/* The bus's own error reaches the user with the unit's name. */
static void test_kill_unknown_unit_names_dbus_error(void **state)
{
        struct error err = ERROR_INIT;

        REQUIRE_BUS();
        assert_true(systemd_kill_unit("kill-ghost.service", SIGUSR1, &err) < 0);
        assert_non_null(strstr(err.msg, "kill-ghost.service"));
        assert_non_null(strstr(err.msg, "org.freedesktop.systemd1.NoSuchUnit"));
        assert_non_null(strstr(err.msg, "not loaded"));
}

static void test_bad_arguments_make_no_call(void **state)
{
        struct error err = ERROR_INIT;
        const char *const bad[] = { "../evil.service", NULL };
        char long_name[SYSTEMD_UNIT_NAME_MAX + 10];
        const char *const too_long[] = { long_name, NULL };

        REQUIRE_BUS();
        assert_int_equal(systemd_kill_unit("x.service", 0, &err), -EINVAL);
        error_clear(&err);
        assert_int_equal(systemd_kill_unit("x.service", NSIG, &err), -EINVAL);
        error_clear(&err);
        assert_int_equal(systemd_kill_unit("", SIGHUP, &err), -EINVAL);
        error_clear(&err);
        assert_int_equal(systemd_units_set(OPSAGENT_UNIT_ENABLE_START, bad, false, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "../evil.service"));
        error_clear(&err);
        memset(long_name, 'a', sizeof(long_name));
        memcpy(long_name + SYSTEMD_UNIT_NAME_MAX + 1 - 8, ".service", 9);  /* 256 characters */
        assert_int_equal(systemd_units_set(OPSAGENT_UNIT_ENABLE_START, too_long, false, &err), -EINVAL);
        assert_changes("");
}

/* Disabled and stopped: enabled, reloaded, started; a second run changes nothing. */
static void test_enable_start(void **state)
{
        struct error err = ERROR_INIT;
        const char *const units[] = { "es-a.service", "es-b.timer", NULL };

        REQUIRE_BUS();
        add_unit("es-a.service", "disabled", "inactive");
        add_unit("es-b.timer", "disabled", "inactive");
        assert_int_equal(systemd_units_set(OPSAGENT_UNIT_ENABLE_START, units, false, &err), 1);
        assert_changes("EnableUnitFiles [es-a.service] false false\n"
                       "EnableUnitFiles [es-b.timer] false false\n"
                       "Reload\n"
                       "StartUnit es-a.service replace\n"
                       "StartUnit es-b.timer replace\n");
        assert_true(sd_bus_call_method(env.bus, SD_DEST, SD_PATH, MOCK_IFACE, "ClearCalls", NULL, NULL, "") >= 0);
        assert_int_equal(systemd_units_set(OPSAGENT_UNIT_ENABLE_START, units, false, &err), 0);
        assert_changes("");
}

/* Enabled but stopped: only started, no unit file change and no reload. */
static void test_enable_start_only_starts(void **state)
{
        struct error err = ERROR_INIT;
        const char *const units[] = { "eo.service", NULL };

        REQUIRE_BUS();
        add_unit("eo.service", "enabled", "inactive");
        assert_int_equal(systemd_units_set(OPSAGENT_UNIT_ENABLE_START, units, false, &err), 1);
        assert_changes("StartUnit eo.service replace\n");
}

/* A static unit has nothing to enable: it is only started. */
static void test_static_unit_is_only_started(void **state)
{
        struct error err = ERROR_INIT;
        const char *const units[] = { "st.service", NULL };

        REQUIRE_BUS();
        add_unit("st.service", "static", "inactive");
        assert_int_equal(systemd_units_set(OPSAGENT_UNIT_ENABLE_START, units, false, &err), 1);
        assert_changes("StartUnit st.service replace\n");
}

static void test_disable_stop(void **state)
{
        struct error err = ERROR_INIT;
        const char *const units[] = { "ds.service", NULL };

        REQUIRE_BUS();
        add_unit("ds.service", "enabled", "active");
        assert_int_equal(systemd_units_set(OPSAGENT_UNIT_DISABLE_STOP, units, false, &err), 1);
        assert_changes("StopUnit ds.service replace\n"
                       "DisableUnitFiles [ds.service] false\n"
                       "Reload\n");
        assert_true(sd_bus_call_method(env.bus, SD_DEST, SD_PATH, MOCK_IFACE, "ClearCalls", NULL, NULL, "") >= 0);
        assert_int_equal(systemd_units_set(OPSAGENT_UNIT_DISABLE_STOP, units, false, &err), 0);
        assert_changes("");
}

/* A dry run reads the states, says it would change something, and changes nothing. */
static void test_dry_run_changes_nothing(void **state)
{
        struct error err = ERROR_INIT;
        const char *const units[] = { "dry.service", NULL };
        const char *const on[] = { "dry-on.service", NULL };
        char *calls, *s = NULL;

        REQUIRE_BUS();
        add_unit("dry.service", "disabled", "inactive");
        assert_int_equal(systemd_units_set(OPSAGENT_UNIT_ENABLE_START, units, true, &err), 1);
        assert_changes("");
        calls = recorded_calls(false);
        assert_non_null(strstr(calls, "GetUnitFileState dry.service\n"));
        free(calls);
        assert_int_equal(systemd_unit_file_state("dry.service", &s, &err), 0);
        assert_string_equal(s, "disabled");
        free(s);
        add_unit("dry-on.service", "enabled", "active");
        assert_int_equal(systemd_units_set(OPSAGENT_UNIT_ENABLE_START, on, true, &err), 0);
        assert_int_equal(systemd_units_set(OPSAGENT_UNIT_DISABLE_STOP, on, true, &err), 1);
        assert_changes("");
}

static void test_masked_unit_is_refused(void **state)
{
        struct error err = ERROR_INIT;
        const char *const units[] = { "masked.service", NULL };

        REQUIRE_BUS();
        add_unit("masked.service", "masked", "inactive");
        assert_int_equal(systemd_units_set(OPSAGENT_UNIT_ENABLE_START, units, false, &err), -EPERM);
        assert_non_null(strstr(err.msg, "masked.service"));
        assert_non_null(strstr(err.msg, "systemctl unmask"));
        assert_changes("");
}

/* One unknown unit: the error names it and the bus error, and no unit is touched. */
static void test_unknown_unit_stops_before_any_change(void **state)
{
        struct error err = ERROR_INIT;
        const char *const units[] = { "known.service", "unknown.service", NULL };

        REQUIRE_BUS();
        add_unit("known.service", "disabled", "inactive");
        assert_int_equal(systemd_units_set(OPSAGENT_UNIT_ENABLE_START, units, false, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "unknown.service"));
        assert_non_null(strstr(err.msg, "org.freedesktop.DBus.Error.FileNotFound"));
        assert_changes("");
}

/* A start job that does not finish "done" fails, naming the unit and where to look. Runs
 * last: it replaces the template's StartUnit with one whose job fails. */
static void test_failed_start_job(void **state)
{
        struct error err = ERROR_INIT;
        const char *const units[] = { "fails.service", NULL };
        sd_bus_error e = SD_BUS_ERROR_NULL;

        REQUIRE_BUS();
        add_unit("fails.service", "enabled", "inactive");
        assert_true(sd_bus_call_method(env.bus, SD_DEST, SD_PATH, MOCK_IFACE, "AddMethod", &e, NULL, "sssss",
                                       SD_MANAGER, "StartUnit", "ss", "o",
                                       "job = '/org/freedesktop/systemd1/job/99'\n"
                                       "self.EmitSignal('org.freedesktop.systemd1.Manager', 'JobRemoved', 'uoss',"
                                       " [99, job, args[0], 'failed'])\n"
                                       "ret = job\n") >= 0);
        assert_int_equal(systemd_units_set(OPSAGENT_UNIT_ENABLE_START, units, false, &err), -EIO);
        assert_non_null(strstr(err.msg, "fails.service"));
        assert_non_null(strstr(err.msg, "\"failed\""));
        assert_non_null(strstr(err.msg, "journalctl -u fails.service"));
}

/* Without a bus, the error says which bus address was tried. */
static void test_no_bus(void **state)
{
        struct error err = ERROR_INIT;
        char *saved = getenv("DBUS_SYSTEM_BUS_ADDRESS") ? strdup(getenv("DBUS_SYSTEM_BUS_ADDRESS")) : NULL;
        char *s = NULL;

        setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/opsagent-test/bus", 1);
        assert_true(systemd_unit_file_state("x.service", &s, &err) < 0);
        assert_non_null(strstr(err.msg, "system bus"));
        assert_non_null(strstr(err.msg, "/nonexistent/opsagent-test/bus"));
        if (saved)
                setenv("DBUS_SYSTEM_BUS_ADDRESS", saved, 1);
        else
                unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
        free(saved);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_unit_file_state, setup),
                cmocka_unit_test_setup(test_kill_unit, setup),
                cmocka_unit_test_setup(test_kill_unknown_unit_names_dbus_error, setup),
                cmocka_unit_test_setup(test_bad_arguments_make_no_call, setup),
                cmocka_unit_test_setup(test_enable_start, setup),
                cmocka_unit_test_setup(test_enable_start_only_starts, setup),
                cmocka_unit_test_setup(test_static_unit_is_only_started, setup),
                cmocka_unit_test_setup(test_disable_stop, setup),
                cmocka_unit_test_setup(test_dry_run_changes_nothing, setup),
                cmocka_unit_test_setup(test_masked_unit_is_refused, setup),
                cmocka_unit_test_setup(test_unknown_unit_stops_before_any_change, setup),
                cmocka_unit_test(test_no_bus),
                cmocka_unit_test_setup(test_failed_start_job, setup),
        };
        systemd_set_job_timeout(30ULL * 1000000);
        return cmocka_run_group_tests_name("systemd", tests, group_setup, group_teardown);
}
