// SPDX-License-Identifier: GPL-2.0-only
/*
 * l2-edu-dma: the smallest guest that makes QEMU's edu device DMA. Nested QEMU boots it with
 * -kernel (multiboot, 32-bit, paging off). It finds edu (1234:11e8) on PCI bus 0 through
 * configuration mechanism #1 (ports 0xcf8/0xcfc), turns on memory decoding and bus mastering,
 * then loops forever:
 *   1. fill a staging page with a pattern of the iteration number,
 *   2. DMA it RAM -> edu (edu's 4 KiB buffer at 0x40000),
 *   3. DMA it edu -> RAM into target page (iteration % pages): the write that dirties memory,
 *   4. check that the target page holds the pattern (the DMA really landed).
 * Progress goes to COM1: one line every 16 iterations, "l2-edu-dma: dma N ok N bad N".
 * The command line (-append) may set "pages=N" (1..4096, default 64).
 *
 * Known pages: staging at 8 MiB, targets at 16 MiB + k * 4 KiB. All below 256 MiB (edu's
 * default dma_mask) and 4 GiB (32-bit register writes), so the machine needs -m 32 or more.
 */
#include <stdint.h>

#define L2_STAGE   0x00800000u
#define L2_TARGET  0x01000000u
#define L2_PAGE	   4096u
#define L2_PATTERN 0x4c320000u

#define EDU_VENDOR     0x1234
#define EDU_DEVICE     0x11e8
#define EDU_ID	       0x00
#define EDU_DMA_SRC    0x80
#define EDU_DMA_DST    0x88
#define EDU_DMA_CNT    0x90
#define EDU_DMA_CMD    0x98
#define EDU_DMA_RUN    0x1
#define EDU_DMA_TO_RAM 0x2
#define EDU_BUF	       0x40000u

#define COM1 0x3f8

struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper, boot_device, cmdline;
};

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void putc_serial(char c)
{
	int i;

	for (i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (uint8_t)c);
}

static void puts_serial(const char *s)
{
	while (*s)
		putc_serial(*s++);
}

static void put_dec(uint32_t v)
{
	char buf[11];
	int n = 0;

	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		putc_serial(buf[--n]);
}

static void put_hex(uint32_t v)
{
	int s;

	puts_serial("0x");
	for (s = 28; s >= 0; s -= 4)
		putc_serial("0123456789abcdef"[(v >> s) & 0xf]);
}

static uint32_t pci_read(uint32_t dev, uint32_t reg)
{
	outl(0xcf8, 0x80000000u | dev << 11 | (reg & 0xfc));
	return inl(0xcfc);
}

static void pci_write(uint32_t dev, uint32_t reg, uint32_t v)
{
	outl(0xcf8, 0x80000000u | dev << 11 | (reg & 0xfc));
	outl(0xcfc, v);
}

static volatile uint32_t *bar0;

static uint32_t edu_read(uint32_t reg)
{
	return bar0[reg / 4];
}

static void edu_write(uint32_t reg, uint32_t v)
{
	/* 4-byte writes: edu zero-extends them into its 64-bit DMA fields */
	bar0[reg / 4] = v;
}

/* One transfer; 0 once RUN cleared, -1 if it never did. */
static int edu_dma(uint32_t src, uint32_t dst, uint32_t cmd)
{
	uint32_t polls;

	edu_write(EDU_DMA_SRC, src);
	edu_write(EDU_DMA_DST, dst);
	edu_write(EDU_DMA_CNT, L2_PAGE);
	edu_write(EDU_DMA_CMD, cmd | EDU_DMA_RUN);
	/* edu copies about 100 ms later (a timer): poll, bounded so a dead device is reported */
	for (polls = 0; polls < 50000000u; polls++)
		if (!(edu_read(EDU_DMA_CMD) & EDU_DMA_RUN))
			return 0;
	return -1;
}

static uint32_t pattern(uint32_t iter, uint32_t word)
{
	return L2_PATTERN ^ (iter * 0x9e3779b1u) ^ word;
}

static uint32_t parse_pages(const struct multiboot_info *mbi, uint32_t magic)
{
	const char *s;
	uint32_t v = 0;

	if (magic != 0x2badb002u || !(mbi->flags & 0x4) || !mbi->cmdline)
		return 64;
	for (s = (const char *)mbi->cmdline; *s; s++) {
		if (s[0] == 'p' && s[1] == 'a' && s[2] == 'g' && s[3] == 'e' && s[4] == 's' &&
		    s[5] == '=') {
			for (s += 6; *s >= '0' && *s <= '9'; s++)
				v = v * 10 + (uint32_t)(*s - '0');
			break;
		}
	}
	return v >= 1 && v <= 4096 ? v : 64;
}

static int find_edu(void)
{
	uint32_t dev;

	for (dev = 0; dev < 32; dev++) {
		if (pci_read(dev, 0) == (EDU_DEVICE << 16 | EDU_VENDOR))
			return (int)dev;
	}
	return -1;
}

void l2_main(uint32_t magic, const struct multiboot_info *mbi);

void l2_main(uint32_t magic, const struct multiboot_info *mbi)
{
	uint32_t pages = parse_pages(mbi, magic), iter, ok = 0, bad = 0, new_bad = 0, w;
	volatile uint32_t *stage = (volatile uint32_t *)L2_STAGE;
	int dev = find_edu();

	puts_serial("l2-edu-dma: started, pages ");
	put_dec(pages);
	puts_serial("\n");
	if (dev < 0) {
		puts_serial("l2-edu-dma: no edu device (1234:11e8) on PCI bus 0\n");
		return;
	}
	bar0 = (volatile uint32_t *)(pci_read((uint32_t)dev, 0x10) & ~0xfu);
	/* memory decoding (0x2) and bus mastering (0x4): without the latter the DMA goes nowhere */
	pci_write((uint32_t)dev, 0x04, (pci_read((uint32_t)dev, 0x04) & 0xffff) | 0x6);
	puts_serial("l2-edu-dma: edu at 00:");
	putc_serial("0123456789abcdef"[dev >> 4]);
	putc_serial("0123456789abcdef"[dev & 0xf]);
	puts_serial(".0 bar0 ");
	put_hex((uint32_t)bar0);
	puts_serial(" id ");
	put_hex(edu_read(EDU_ID));
	puts_serial(", DMA into ");
	put_dec(pages);
	puts_serial(" pages at ");
	put_hex(L2_TARGET);
	puts_serial("\n");

	for (iter = 1;; iter++) {
		uint32_t dst = L2_TARGET + (iter % pages) * L2_PAGE;
		volatile uint32_t *target = (volatile uint32_t *)dst;

		for (w = 0; w < L2_PAGE / 4; w++)
			stage[w] = pattern(iter, w);
		if (edu_dma(L2_STAGE, EDU_BUF, 0) || edu_dma(EDU_BUF, dst, EDU_DMA_TO_RAM)) {
			puts_serial("l2-edu-dma: DMA never completed (RUN stayed set) at dma ");
			put_dec(iter);
			puts_serial("\n");
			continue;
		}
		for (w = 0; w < L2_PAGE / 4 && target[w] == pattern(iter, w); w++)
			;
		if (w == L2_PAGE / 4) {
			ok++;
		} else {
			/*
			 * edu's 4 KiB buffer is device state no driver can read (not in BAR0): a
			 * migration between steps 2 and 3 loses it, and step 3 on the new device
			 * copies that device's buffer instead. Any other bad page is a real error.
			 */
			bad++;
			new_bad = 1;
		}
		if (!(iter % 16) || new_bad) {
			new_bad = 0;
			puts_serial("l2-edu-dma: dma ");
			put_dec(iter);
			puts_serial(" ok ");
			put_dec(ok);
			puts_serial(" bad ");
			put_dec(bad);
			puts_serial("\n");
		}
	}
}
