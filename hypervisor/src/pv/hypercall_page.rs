//! The hypercall page written into 64-bit PV kernels: 32 bytes per
//! hypercall, each `push %rcx; push %r11; mov $N,%eax; syscall; pop %r11;
//! pop %rcx; ret`, except `iret`, which guests jump to with an
//! `iret_context` on their stack and which does not return.

use dom0_abi::hypercall::HYPERVISOR_iret;

/// The page's bytes.
pub fn contents() -> [u8; 4096] {
    let mut page = [0xccu8; 4096];
    for (i, slot) in page.chunks_exact_mut(32).enumerate() {
        let nr = i as u32;
        if u64::from(nr) == HYPERVISOR_iret {
            slot[0] = 0x51; // push %rcx
            slot[1..3].copy_from_slice(&[0x41, 0x53]); // push %r11
            slot[3] = 0x50; // push %rax
            slot[4] = 0xb8; // mov $nr, %eax
            slot[5..9].copy_from_slice(&nr.to_le_bytes());
            slot[9..11].copy_from_slice(&[0x0f, 0x05]); // syscall
            continue;
        }
        slot[0] = 0x51;
        slot[1..3].copy_from_slice(&[0x41, 0x53]);
        slot[3] = 0xb8;
        slot[4..8].copy_from_slice(&nr.to_le_bytes());
        slot[8..10].copy_from_slice(&[0x0f, 0x05]);
        slot[10..12].copy_from_slice(&[0x41, 0x5b]); // pop %r11
        slot[12] = 0x59; // pop %rcx
        slot[13] = 0xc3; // ret
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_of_slots() {
        let p = contents();
        // xen_version (17): push rcx; push r11; mov $17,%eax; syscall; pop r11; pop rcx; ret
        assert_eq!(&p[17 * 32..17 * 32 + 14], &[0x51, 0x41, 0x53, 0xb8, 17, 0, 0, 0, 0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3]);
        assert_eq!(&p[23 * 32..23 * 32 + 11], &[0x51, 0x41, 0x53, 0x50, 0xb8, 23, 0, 0, 0, 0x0f, 0x05]);
        assert_eq!(p[23 * 32 + 11], 0xcc, "iret does not return");
    }
}
