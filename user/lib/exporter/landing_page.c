// SPDX-License-Identifier: GPL-2.0
/*
 * The landing page (web/landing.html), embedded in the binary so `serve` needs no files at
 * run time. The assembler includes it as bytes: the HTML stays a plain file to edit and check.
 * Paths are relative to the repository root, where make runs.
 */
__asm__(".section .rodata\n"
	".global vfioscope_landing_html\n"
	".type vfioscope_landing_html, @object\n"
	".balign 16\n"
	"vfioscope_landing_html:\n"
	".incbin \"web/landing.html\"\n"
	"vfioscope_landing_html_end:\n"
	".byte 0\n"
	".global vfioscope_landing_html_len\n"
	".type vfioscope_landing_html_len, @object\n"
	".balign 4\n"
	"vfioscope_landing_html_len:\n"
	".int vfioscope_landing_html_end - vfioscope_landing_html\n"
	".previous\n");
