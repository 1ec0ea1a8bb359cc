// SPDX-License-Identifier: GPL-2.0
/* Dropping capabilities after the privileged steps; see privs.h. */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vfioscope/common/log.h"
#include "vfioscope/exporter/privs.h"

static int cap_last(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int last = 40; /* CAP_CHECKPOINT_RESTORE, the last one in 6.x */

	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = 40;
		fclose(f);
	}
	return last;
}

int privs_drop(uint64_t keep)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	int last = cap_last();

	if (syscall(SYS_capget, &hdr, data)) {
		pr_err("failed to read capabilities: %s", strerror(errno));
		return -errno;
	}
	/* The bounding set needs CAP_SETPCAP: drop it while that is still effective. */
	if (data[0].effective & (1u << CAP_SETPCAP)) {
		for (int cap = 0; cap <= last; cap++) {
			if (keep & (1ULL << cap))
				continue;
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL) {
				pr_err("failed to drop capability %d from the bounding set: %s",
				       cap, strerror(errno));
				return -errno;
			}
		}
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (int i = 0; i < 2; i++) {
		uint32_t k = (uint32_t)(keep >> (32 * i));

		data[i].effective &= k;
		data[i].permitted &= k;
		data[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data)) {
		pr_err("failed to drop capabilities: %s", strerror(errno));
		return -errno;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		pr_err("failed to set no_new_privs: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int privs_read(struct privs_state *st)
{
	FILE *f = fopen("/proc/thread-self/status", "r");
	char line[256];

	if (!f)
		return -errno;
	memset(st, 0, sizeof(*st));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "CapEff: %llx", &v) == 1)
			st->eff = v;
		else if (sscanf(line, "CapPrm: %llx", &v) == 1)
			st->prm = v;
		else if (sscanf(line, "CapInh: %llx", &v) == 1)
			st->inh = v;
		else if (sscanf(line, "CapBnd: %llx", &v) == 1)
			st->bnd = v;
		else if (sscanf(line, "CapAmb: %llx", &v) == 1)
			st->amb = v;
		else if (sscanf(line, "NoNewPrivs: %llu", &v) == 1)
			st->no_new_privs = (int)v;
	}
	fclose(f);
	return 0;
}

static const char *const cap_names[] = {
	"chown",
	"dac_override",
	"dac_read_search",
	"fowner",
	"fsetid",
	"kill",
	"setgid",
	"setuid",
	"setpcap",
	"linux_immutable",
	"net_bind_service",
	"net_broadcast",
	"net_admin",
	"net_raw",
	"ipc_lock",
	"ipc_owner",
	"sys_module",
	"sys_rawio",
	"sys_chroot",
	"sys_ptrace",
	"sys_pacct",
	"sys_admin",
	"sys_boot",
	"sys_nice",
	"sys_resource",
	"sys_time",
	"sys_tty_config",
	"mknod",
	"lease",
	"audit_write",
	"audit_control",
	"setfcap",
	"mac_override",
	"mac_admin",
	"syslog",
	"wake_alarm",
	"block_suspend",
	"audit_read",
	"perfmon",
	"bpf",
	"checkpoint_restore",
};

int privs_parse(const char *list, uint64_t *mask)
{
	char *copy, *tok, *save = NULL;
	int err = 0;

	*mask = 0;
	if (!list || !*list || !strcasecmp(list, "none"))
		return 0;
	copy = strdup(list);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const char *name = !strncasecmp(tok, "cap_", 4) ? tok + 4 : tok;
		size_t i;

		for (i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
			if (!strcasecmp(name, cap_names[i]))
				break;
		if (i == sizeof(cap_names) / sizeof(cap_names[0])) {
			err = -EINVAL;
			break;
		}
		*mask |= 1ULL << i;
	}
	free(copy);
	return err;
}
