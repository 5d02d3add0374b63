/*
 * Application-processor start-up trampoline.
 *
 * Copied to TRAMPOLINE_BASE (below 1 MiB) before INIT-SIPI-SIPI. It runs
 * position-dependent on that base: real mode -> protected mode -> long mode on
 * the boot page tables, then jumps to the high-half entry whose address, stack
 * and argument the BSP stored in the parameter block at its end.
 */

        .set TRAMPOLINE_BASE, 0x8000
        .section .trampoline, "a"
        .code16
        .global trampoline_start
trampoline_start:
        cli
        cld
        xor     %ax, %ax
        mov     %ax, %ds
        lgdtl   (TRAMPOLINE_BASE + tramp_gdtr - trampoline_start)
        mov     %cr0, %eax
        or      $1, %eax
        mov     %eax, %cr0
        ljmpl   $0x18, $(TRAMPOLINE_BASE + tramp32 - trampoline_start)

        .code32
tramp32:
        mov     $0x20, %eax
        mov     %eax, %ds
        mov     %eax, %es
        mov     %eax, %ss
        mov     (TRAMPOLINE_BASE + tramp_cr3 - trampoline_start), %eax
        mov     %eax, %cr3
        mov     %cr4, %eax
        or      $0x20, %eax                      /* PAE */
        mov     %eax, %cr4
        mov     $0xc0000080, %ecx
        rdmsr
        or      (TRAMPOLINE_BASE + tramp_efer - trampoline_start), %eax              /* LME, and NXE when the BSP has it */
        wrmsr
        mov     %cr0, %eax
        or      $0x80010001, %eax                /* PG | WP | PE */
        mov     %eax, %cr0
        ljmpl   $0x08, $(TRAMPOLINE_BASE + tramp64 - trampoline_start)

        .code64
tramp64:
        mov     $0x10, %eax
        mov     %eax, %ds
        mov     %eax, %es
        mov     %eax, %ss
        mov     (TRAMPOLINE_BASE + tramp_stack - trampoline_start), %rsp
        mov     (TRAMPOLINE_BASE + tramp_arg - trampoline_start), %rdi
        mov     (TRAMPOLINE_BASE + tramp_entry - trampoline_start), %rax
        jmp     *%rax

        .balign 16
tramp_gdt:
        .quad 0
        .quad 0x00af9a000000ffff                 /* 0x08: 64-bit code */
        .quad 0x00cf92000000ffff                 /* 0x10: data */
        .quad 0x00cf9a000000ffff                 /* 0x18: 32-bit code */
        .quad 0x00cf92000000ffff                 /* 0x20: 32-bit data */
tramp_gdt_end:
        .balign 8
tramp_gdtr:
        .short tramp_gdt_end - tramp_gdt - 1
        .long (TRAMPOLINE_BASE + tramp_gdt - trampoline_start)

        /* Parameter block, filled by the BSP for each AP. */
        .balign 8
        .global tramp_params
tramp_params:
tramp_cr3:
        .quad 0
tramp_efer:
        .quad 0
tramp_stack:
        .quad 0
tramp_entry:
        .quad 0
tramp_arg:
        .quad 0
        .global trampoline_end
trampoline_end:
