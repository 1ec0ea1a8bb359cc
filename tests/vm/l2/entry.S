/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Multiboot (v1) entry of the L2 DMA guest: QEMU's -kernel loads this 32-bit ELF and enters
 * it in flat protected mode with paging off. Set a stack and call l2_main().
 */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003 /* page-align modules, pass memory info */

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.text
	.globl _start
_start:
	cli
	movl $stack_top, %esp
	pushl %ebx /* multiboot info */
	pushl %eax /* multiboot magic */
	call l2_main
1:	hlt
	jmp 1b

	.bss
	.align 16
	.space 16384
stack_top:
	.section .note.GNU-stack, "", @progbits
