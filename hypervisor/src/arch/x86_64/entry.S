/*
 * Exception, interrupt and SYSCALL entry; the exit to guests.
 *
 * Every vector has a 16-byte stub at `vector_stubs + 16 * vector`. A stub
 * makes the frame uniform (an error-code slot whose upper half holds the
 * vector, as Xen's `cpu_user_regs` does); the common path saves the general
 * registers in `cpu_user_regs` order and calls `hv_trap(&mut regs)`.
 *
 * SYSCALL arrives through a per-CPU stub (see syscall.rs) that switches to
 * the CPU's primary stack, leaving the guest's RAX in the top slot and the
 * guest's RSP below it; `syscall_enter` completes an iret-shaped frame and
 * calls `hv_syscall(&mut regs)`. Both paths leave through `restore_all`.
 */

        .section .text.entry, "ax"
        .code64

.macro VECTOR_STUB vec
        .balign 16
.if (\vec == 8) || (\vec == 10) || (\vec == 11) || (\vec == 12) || (\vec == 13) || (\vec == 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
        movl    $\vec, 4(%rsp)
.else
        pushq   $0
        movl    $\vec, 4(%rsp)
.endif
        jmp     trap_common
.endm

.macro RESTORE_GPRS
        pop     %r15
        pop     %r14
        pop     %r13
        pop     %r12
        pop     %rbp
        pop     %rbx
        pop     %r11
        pop     %r10
        pop     %r9
        pop     %r8
        pop     %rax
        pop     %rcx
        pop     %rdx
        pop     %rsi
        pop     %rdi
.endm

.macro SAVE_ALL
        cld
        push    %rdi
        push    %rsi
        push    %rdx
        push    %rcx
        push    %rax
        push    %r8
        push    %r9
        push    %r10
        push    %r11
        push    %rbx
        push    %rbp
        push    %r12
        push    %r13
        push    %r14
        push    %r15
.endm

        .balign 16
        .global vector_stubs
vector_stubs:
.irp hi, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
.irp lo, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
        VECTOR_STUB (\hi * 16 + \lo)
.endr
.endr

trap_common:
        SAVE_ALL
        mov     %rsp, %rdi
        sub     $8, %rsp                         /* 16-byte alignment for the call */
        call    hv_trap
        add     $8, %rsp
        jmp     restore_all

/*
 * Complete the frame of a SYSCALL (RCX = guest RIP, R11 = guest RFLAGS;
 * the stub parked RAX in the SS slot) with guest code selector \cs and
 * entry vector \vec, then call hv_syscall.
 */
.macro SYSCALL_ENTRY cs, vec
        push    %r11                             /* rflags */
        pushq   $\cs
        push    %rcx                             /* rip */
        pushq   $0
        movl    $\vec, 4(%rsp)                   /* entry_vector */
        mov     40(%rsp), %rax
        movq    $0xe02b, 40(%rsp)                /* ss: FLAT_RING3_SS64 */
        SAVE_ALL
        mov     %rsp, %rdi
        sub     $8, %rsp
        call    hv_syscall
        add     $8, %rsp
.endm

/* 64-bit SYSCALL (CS = FLAT_RING3_CS64, vector 0x100). */
        .global syscall_enter
syscall_enter:
        SYSCALL_ENTRY 0xe033, 0x100
        /*
         * Fast exit with SYSRET when the frame is still what SYSCALL made
         * (RIP = RCX, RFLAGS = R11, 64-bit guest CS, canonical RIP): the
         * common hypercall return. Anything else (iret, bounces) uses IRETQ.
         */
        mov     128(%rsp), %rcx                  /* rip */
        cmp     88(%rsp), %rcx                   /* saved rcx */
        jne     restore_all
        mov     144(%rsp), %r11                  /* rflags */
        cmp     48(%rsp), %r11                   /* saved r11 */
        jne     restore_all
        cmpq    $0xe033, 136(%rsp)
        jne     restore_all
        cmpq    $0xe02b, 160(%rsp)
        jne     restore_all
        mov     %rcx, %rax
        sar     $47, %rax
        inc     %rax
        cmp     $1, %rax                         /* upper 17 bits all 0 or all 1 */
        ja      restore_all
        RESTORE_GPRS
        /* RSP -> error/vector; the guest RSP is 4 slots above. NMI and #MC
           use IST stacks, so the window on the guest stack is safe. */
        mov     32(%rsp), %rsp
        sysretq

/* SYSCALL from compatibility mode: CS32, vector 0x101, always IRETQ. */
        .global syscall32_enter
syscall32_enter:
        SYSCALL_ENTRY 0xe023, 0x101
        jmp     restore_all

/* Pop a cpu_user_regs frame at RSP and return with IRETQ. */
        .global restore_all
restore_all:
        RESTORE_GPRS
        add     $8, %rsp                         /* error code and vector */
        iretq

/*
 * Start running a frame: RDI = the frame (at the top of this CPU's primary
 * stack). Used for the first entry into a vCPU and after context switches.
 */
        .global resume_frame
resume_frame:
        mov     %rdi, %rsp
        jmp     restore_all

/*
 * Copy RDX bytes from RSI to RDI where either side may be guest memory;
 * returns in RAX the number of bytes NOT copied. A fault on the copy
 * resumes at copy_guest_fixup (see traps.rs).
 */
        .global hv_copy_guest
        .global copy_guest_insn
        .global copy_guest_fixup
hv_copy_guest:
        mov     %rdx, %rcx
copy_guest_insn:
        rep movsb
copy_guest_fixup:
        mov     %rcx, %rax
        ret

/*
 * RDMSR that survives a #GP: RDI = MSR, RSI = where to store the value;
 * returns 0 in EAX on success, 1 when the MSR does not exist.
 */
        .global hv_rdmsr_safe
        .global rdmsr_safe_insn
        .global rdmsr_safe_fixup
hv_rdmsr_safe:
        mov     %edi, %ecx
rdmsr_safe_insn:
        rdmsr
        shl     $32, %rdx
        or      %rdx, %rax
        mov     %rax, (%rsi)
        xor     %eax, %eax
        ret
rdmsr_safe_fixup:
        mov     $1, %eax
        ret

/* WRMSR that survives a #GP: RDI = MSR, RSI = value; 0 or 1 in EAX. */
        .global hv_wrmsr_safe
        .global wrmsr_safe_insn
        .global wrmsr_safe_fixup
hv_wrmsr_safe:
        mov     %edi, %ecx
        mov     %esi, %eax
        mov     %rsi, %rdx
        shr     $32, %rdx
wrmsr_safe_insn:
        wrmsr
        xor     %eax, %eax
        ret
wrmsr_safe_fixup:
        mov     $1, %eax
        ret

/*
 * Load the guest user GS selector (DI) between two SWAPGS, keeping the
 * kernel GS base; a selector that faults loads the null selector instead.
 */
        .global hv_load_user_gs
        .global load_gs_insn
        .global load_gs_fixup
hv_load_user_gs:
        swapgs
load_gs_insn:
        mov     %di, %gs
load_gs_done:
        swapgs
        ret
load_gs_fixup:
        xor     %eax, %eax
        mov     %ax, %gs
        jmp     load_gs_done

        /* Per-CPU SYSCALL stubs (LSTAR then CSTAR, 64 bytes each), written at
           CPU bring-up through the direct map. */
        .balign 4096
        .global syscall_stubs
syscall_stubs:
        .fill 8192, 1, 0xcc
        .global syscall_stubs_end
syscall_stubs_end:
