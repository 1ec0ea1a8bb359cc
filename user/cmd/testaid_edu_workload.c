// SPDX-License-Identifier: GPL-2.0
/*
 * Test aid: the edu workload behind track --workload. QEMU's edu device (hw/misc/edu.c) copies
 * from its own buffer into guest memory when told, which makes chosen pages dirty through a
 * real device DMA so the tracker has something to find. Nothing here belongs in a product.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/vfio.h>

#include "testaid.h"
#include "vfioscope/common/log.h"
#include "vfioscope/common/parse.h"
#include "vfioscope/tracker/vfio.h"

/* edu: DMA registers in BAR0; the buffer sits at 0x40000 in edu space */
#define EDU_ID	       0x11e81234u
#define EDU_REG_SRC    0x80
#define EDU_REG_DST    0x88
#define EDU_REG_CNT    0x90
#define EDU_REG_CMD    0x98
#define EDU_CMD_RUN    0x1
#define EDU_CMD_TO_RAM 0x2
#define EDU_BUF	       0x40000
#define EDU_BUF_SIZE   0x1000

/* One "IOVA[+LEN]" (LEN 64 by default, below edu's 4 KiB buffer). */
static int parse_target(char *tok, struct edu_target *t, const char **why)
{
	char *plus = strchr(tok, '+');
	uint64_t iova, len = 64;
	int err;

	if (plus) {
		*plus = 0;
		err = parse_u64(plus + 1, 1, EDU_BUF_SIZE - 1, &len, why);
		if (err)
			return err;
	}
	err = parse_u64(tok, 0, UINT32_MAX, &iova, why);
	if (err)
		return err;
	/* through pwrite an 8-byte register write becomes two 4-byte ones and edu ignores the
	 * high half: only 32-bit addresses can be programmed */
	if (iova + len > (1ULL << 32)) {
		*why = "edu reaches only the first 4 GiB";
		return -ERANGE;
	}
	t->iova = iova;
	t->len = len;
	return 0;
}

int edu_workload_parse(const char *s, struct edu_workload *w, const char **why)
{
	char *copy, *tok, *save = NULL;
	int err = 0;

	if (strncmp(s, "edu:", 4) || !s[4]) {
		*why = "expected edu:IOVA[+LEN],...";
		return -EINVAL;
	}
	copy = strdup(s + 4);
	if (!copy) {
		*why = "out of memory";
		return -ENOMEM;
	}
	for (tok = strtok_r(copy, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		if (w->nr >= EDU_MAX_TARGETS) {
			*why = "more than 64 targets";
			err = -E2BIG;
			break;
		}
		err = parse_target(tok, &w->targets[w->nr], why);
		if (!err)
			w->nr++;
	}
	free(copy);
	return err;
}

static int edu_reg_write(struct vfio_dev *d, uint64_t reg, uint32_t v)
{
	return vfio_dev__write(d, VFIO_PCI_BAR0_REGION_INDEX, reg, &v, sizeof(v));
}

int edu_prepare(struct vfio_dev *d)
{
	uint32_t id;
	uint16_t cmd;
	int err;

	err = vfio_dev__read(d, VFIO_PCI_CONFIG_REGION_INDEX, 0, &id, sizeof(id));
	if (err)
		return err;
	if (id != EDU_ID) {
		pr_err("failed to use %s for the edu workload: PCI ID %04x:%04x is not edu "
		       "(1234:11e8)",
		       vfio_dev__name(d), id & 0xffff, id >> 16);
		return -ENODEV;
	}
	/* bus master + memory space, or edu's DMA goes nowhere */
	err = vfio_dev__read(d, VFIO_PCI_CONFIG_REGION_INDEX, 4, &cmd, sizeof(cmd));
	if (err)
		return err;
	cmd |= 0x6;
	return vfio_dev__write(d, VFIO_PCI_CONFIG_REGION_INDEX, 4, &cmd, sizeof(cmd));
}

/* Every DMA target must land in mapped RAM, or the IOMMU faults the transfer. */
int edu_check_targets(const struct edu_workload *w, const struct guest_ram *ram)
{
	for (size_t i = 0; i < w->nr; i++) {
		const struct edu_target *t = &w->targets[i];

		if (!guest_ram__host(ram, t->iova) || !guest_ram__host(ram, t->iova + t->len - 1)) {
			pr_err("failed to use workload target 0x%llx+%u: not inside one mapped RAM "
			       "section of the layout",
			       (unsigned long long)t->iova, t->len);
			return -EINVAL;
		}
		if (t->iova + t->len > (1ULL << 28))
			pr_warn("workload target 0x%llx is above 256 MiB: edu's default dma_mask "
				"clips it unless the VM sets edu,dma_mask=...",
				(unsigned long long)t->iova);
	}
	return 0;
}

static int edu_dma_to_ram(struct vfio_dev *d, const struct edu_target *t)
{
	uint32_t cmd = 0;
	int err;

	err = edu_reg_write(d, EDU_REG_SRC, EDU_BUF);
	if (!err)
		err = edu_reg_write(d, EDU_REG_DST, (uint32_t)t->iova);
	if (!err)
		err = edu_reg_write(d, EDU_REG_CNT, t->len);
	if (!err)
		err = edu_reg_write(d, EDU_REG_CMD, EDU_CMD_RUN | EDU_CMD_TO_RAM);
	if (err)
		return err;
	/* the transfer lands about 100 ms of virtual time after the command */
	for (int i = 0; i < 500; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		err = vfio_dev__read(d, VFIO_PCI_BAR0_REGION_INDEX, EDU_REG_CMD, &cmd, sizeof(cmd));
		if (err)
			return err;
		if (!(cmd & EDU_CMD_RUN))
			return 0;
		nanosleep(&ts, NULL);
	}
	pr_err("failed to complete edu DMA to IOVA 0x%llx on %s: still running after 5 s",
	       (unsigned long long)t->iova, vfio_dev__name(d));
	return -ETIMEDOUT;
}

int edu_run(struct vfio_dev *d, const struct edu_workload *w, const volatile sig_atomic_t *stop)
{
	for (size_t i = 0; i < w->nr && !(stop && *stop); i++) {
		int err = edu_dma_to_ram(d, &w->targets[i]);

		if (err)
			return err;
	}
	return 0;
}
