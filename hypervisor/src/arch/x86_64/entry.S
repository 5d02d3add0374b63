/*
 * Exception and interrupt entry stubs.
 *
 * Every vector has a 16-byte stub at `vector_stubs + 16 * vector`. A stub
 * makes the frame uniform (an error-code slot whose upper half holds the
 * vector, as Xen's `cpu_user_regs` does), and the common path saves the
 * general registers in `cpu_user_regs` order and calls `hv_trap(&mut regs)`.
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

        .balign 16
        .global vector_stubs
vector_stubs:
.irp hi, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
.irp lo, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
        VECTOR_STUB (\hi * 16 + \lo)
.endr
.endr

trap_common:
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
        mov     %rsp, %rdi
        sub     $8, %rsp                         /* 16-byte alignment for the call */
        call    hv_trap
        add     $8, %rsp
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
        add     $8, %rsp                         /* error code and vector */
        iretq
