/*
 * Multiboot2 header and the 32-bit entry point.
 *
 * GRUB enters `_start` in 32-bit protected mode with paging off, EAX holding
 * the multiboot2 magic and EBX the physical address of the boot information.
 * We build boot page tables that identity-map the first 4 GiB, map the same
 * 4 GiB at the direct-map base and map the image at its link address, enter
 * long mode and jump to the high half.
 */

        .set MB2_MAGIC, 0xe85250d6
        .set MB2_BOOT_MAGIC, 0x36d76289
        .set KERNEL_OFFSET, 0xffff82d040000000
        .section .multiboot, "a"
        .balign 8
mb2_header:
        .long MB2_MAGIC
        .long 0                                  /* i386 protected mode */
        .long mb2_header_end - mb2_header
        .long -(MB2_MAGIC + (mb2_header_end - mb2_header))
        /* end tag */
        .balign 8
        .short 0
        .short 0
        .long 8
mb2_header_end:

        .section .boot.text, "ax"
        .code32
        .global _start
_start:
        cli
        cld
        mov     $boot_stack_top, %esp
        mov     %eax, %edi                       /* multiboot2 magic */
        mov     %ebx, %esi                       /* boot information */

        cmp     $MB2_BOOT_MAGIC, %edi
        jne     early_fail_magic

        /* Long mode available? */
        mov     $0x80000000, %eax
        cpuid
        cmp     $0x80000001, %eax
        jb      early_fail_lm
        mov     $0x80000001, %eax
        cpuid
        bt      $29, %edx
        jnc     early_fail_lm
        mov     %edx, %ebp                       /* keep the NX bit (20) */

        /* PD entries: 2048 x 2 MiB large pages covering 0..4 GiB. */
        mov     $boot_pd, %edi
        xor     %ecx, %ecx
1:      mov     %ecx, %eax
        shl     $21, %eax
        or      $0x83, %eax                      /* present | rw | ps */
        mov     %eax, (%edi,%ecx,8)
        mov     %ecx, %eax
        shr     $11, %eax                        /* high dword: (i*2M) >> 32 */
        mov     %eax, 4(%edi,%ecx,8)
        inc     %ecx
        cmp     $2048, %ecx
        jne     1b

        /* PDPT low: four PDs. */
        mov     $boot_pdpt, %edi
        xor     %ecx, %ecx
2:      mov     %ecx, %eax
        shl     $12, %eax
        add     $boot_pd, %eax
        or      $0x3, %eax
        mov     %eax, (%edi,%ecx,8)
        inc     %ecx
        cmp     $4, %ecx
        jne     2b

        /* PDPT for the image slot: entry 321 -> first PD (phys 0..1 GiB). */
        mov     $boot_pdpt_image, %edi
        mov     $boot_pd, %eax
        or      $0x3, %eax
        mov     %eax, 321*8(%edi)

        /* PML4: 0 identity, 0x105 image slot, 0x106 direct map. */
        mov     $boot_pml4, %edi
        mov     $boot_pdpt, %eax
        or      $0x3, %eax
        mov     %eax, 0(%edi)
        mov     %eax, 0x106*8(%edi)
        mov     $boot_pdpt_image, %eax
        or      $0x3, %eax
        mov     %eax, 0x105*8(%edi)

        mov     $boot_pml4, %eax
        mov     %eax, %cr3

        mov     %cr4, %eax
        or      $0x20, %eax                      /* PAE */
        mov     %eax, %cr4

        mov     $0xc0000080, %ecx                /* EFER */
        rdmsr
        or      $0x100, %eax                     /* LME */
        bt      $20, %ebp
        jnc     3f
        or      $0x800, %eax                     /* NXE */
3:      wrmsr

        mov     %cr0, %eax
        or      $0x80010001, %eax                /* PG | WP | PE */
        mov     %eax, %cr0

        lgdt    boot_gdtr
        ljmp    $0x08, $start64_low

early_fail_magic:
        mov     $early_msg_magic, %ebx
        jmp     early_fail
early_fail_lm:
        mov     $early_msg_lm, %ebx
early_fail:
        /* Best effort: print the message on COM1 and halt. */
        mov     $0x3f8, %dx
4:      movb    (%ebx), %al
        test    %al, %al
        jz      5f
        out     %al, %dx
        inc     %ebx
        jmp     4b
5:      cli
        hlt
        jmp     5b

        .code64
start64_low:
        mov     $0x10, %eax
        mov     %eax, %ds
        mov     %eax, %es
        mov     %eax, %ss
        xor     %eax, %eax
        mov     %eax, %fs
        mov     %eax, %gs
        movabs  $start64_high, %rax
        jmp     *%rax

        .section .boot.data, "aw"
        .balign 16
boot_gdt:
        .quad 0
        .quad 0x00af9a000000ffff                 /* 0x08: 64-bit code */
        .quad 0x00cf92000000ffff                 /* 0x10: data */
boot_gdt_end:
        .balign 8
        .global boot_gdtr
boot_gdtr:
        .short boot_gdt_end - boot_gdt - 1
        .quad boot_gdt
early_msg_magic:
        .asciz "hypervisor: not started by a multiboot2 loader\r\n"
early_msg_lm:
        .asciz "hypervisor: this CPU has no 64-bit long mode\r\n"

        .section .boot.bss, "aw", @nobits
        .balign 4096
        .global boot_pml4
boot_pml4:
        .skip 4096
boot_pdpt:
        .skip 4096
boot_pdpt_image:
        .skip 4096
boot_pd:
        .skip 4096 * 4
boot_stack:
        .skip 4096
boot_stack_top:

        .section .text.entry, "ax"
        .code64
start64_high:
        lea     bsp_boot_stack_top(%rip), %rsp
        xor     %ebp, %ebp
        mov     $MB2_BOOT_MAGIC, %edi            /* checked at entry; EDI was reused */
        mov     %esi, %esi                       /* zero-extend MBI address (kept in ESI) */
        call    hv_start
6:      cli
        hlt
        jmp     6b

        .section .bss.bsp_boot_stack, "aw", @nobits
        .balign 16
bsp_boot_stack:
        .skip 65536
bsp_boot_stack_top:
