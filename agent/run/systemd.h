/* systemd over sd-bus (the system bus; DBUS_SYSTEM_BUS_ADDRESS redirects it): signalling a
 * unit, enabling+starting and stopping+disabling units, reading unit file states. Errors
 * name the unit, the operation and the D-Bus error. */
#ifndef OPSAGENT_SYSTEMD_H
#define OPSAGENT_SYSTEMD_H

#include <stdbool.h>
#include <stdint.h>

#include "opsagent/recipe.h"
#include "util/error.h"

#define SYSTEMD_UNIT_NAME_MAX 255                       /* longer unit names are refused */
#define SYSTEMD_JOB_TIMEOUT_USEC (300ULL * 1000000)     /* wait for a start/stop job at most */

/* Sends SIGNO to the main process of UNIT (Manager.KillUnit, who "main"). 0, or negative
 * errno with *err set: -EINVAL for a bad unit name or signal, else from the bus. */
int systemd_kill_unit(const char *unit, int signo, struct error *err);

/* Brings the NULL-terminated UNITS to the state ACTION asks for:
 * OPSAGENT_UNIT_ENABLE_START: EnableUnitFiles when the unit file is not enabled (static,
 * generated, transient, alias and indirect units cannot be and are left alone; a masked unit
 * is an error, -EPERM), Manager.Reload if any was, then StartUnit ("replace") for each unit
 * not active, waiting for each job (SYSTEMD_JOB_TIMEOUT_USEC) and failing (-EIO) unless it
 * finished "done". OPSAGENT_UNIT_DISABLE_STOP: StopUnit for each active unit (waiting the same
 * way), then DisableUnitFiles for each enabled one, then Manager.Reload.
 * With DRY_RUN only the states are read. Returns 1 if anything changed (or would), 0 if all
 * units were already so, negative errno with *err set. */
int systemd_units_set(enum opsagent_unit_action action, const char *const *units, bool dry_run,
                      struct error *err);

/* The unit file state of UNIT ("enabled", "disabled", "static", "masked", ...) into *ret
 * (caller frees). Negative errno with *err set: a unit systemd does not know is -ENOENT. */
int systemd_unit_file_state(const char *unit, char **ret, struct error *err);

/* Overrides SYSTEMD_JOB_TIMEOUT_USEC (tests); 0 restores it. */
void systemd_set_job_timeout(uint64_t usec);

#endif
