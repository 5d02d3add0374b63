//! Decoding the guest stores the hypervisor emulates: 64-bit `mov` from a
//! register or an immediate, `xchg` and `(lock) cmpxchg` with a memory
//! destination (the writes a PV kernel makes to its own page tables).

/// What a decoded store does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// `mov` of a register (number) to memory.
    MovReg(u8),
    /// `mov` of a sign-extended immediate to memory.
    MovImm(u64),
    /// `xchg` with a register.
    Xchg(u8),
    /// `cmpxchg` with a register (compares with RAX).
    Cmpxchg(u8),
}

/// Length of the ModRM/SIB/displacement bytes at `b`; `None` for a
/// register operand (no memory write).
fn modrm_len(b: &[u8]) -> Option<usize> {
    let modrm = *b.first()?;
    let (md, rm) = (modrm >> 6, modrm & 7);
    if md == 3 {
        return None;
    }
    let mut len = 1;
    if rm == 4 {
        let sib = *b.get(1)?;
        len += 1;
        if md == 0 && sib & 7 == 5 {
            len += 4;
        }
    } else if md == 0 && rm == 5 {
        len += 4; // RIP-relative
    }
    len += match md {
        1 => 1,
        2 => 4,
        _ => 0,
    };
    Some(len)
}

/// Decode a 64-bit store; returns it and the instruction length.
pub fn decode_store(insn: &[u8]) -> Option<(Store, usize)> {
    let mut i = 0;
    if insn.first() == Some(&0xf0) {
        i += 1; // lock
    }
    let rex = *insn.get(i)?;
    if rex & 0xf0 != 0x40 || rex & 8 == 0 {
        return None; // only REX.W (64-bit) stores write a whole entry
    }
    i += 1;
    let r_ext = (rex & 4) << 1;
    let reg = |modrm: u8| ((modrm >> 3) & 7) | r_ext;
    match *insn.get(i)? {
        0x89 => {
            let m = *insn.get(i + 1)?;
            Some((Store::MovReg(reg(m)), i + 1 + modrm_len(&insn[i + 1..])?))
        }
        0x87 => {
            let m = *insn.get(i + 1)?;
            Some((Store::Xchg(reg(m)), i + 1 + modrm_len(&insn[i + 1..])?))
        }
        0xc7 => {
            let m = *insn.get(i + 1)?;
            if (m >> 3) & 7 != 0 {
                return None;
            }
            let at = i + 1 + modrm_len(&insn[i + 1..])?;
            let imm = i32::from_le_bytes(insn.get(at..at + 4)?.try_into().ok()?) as i64 as u64;
            Some((Store::MovImm(imm), at + 4))
        }
        0x0f if insn.get(i + 1) == Some(&0xb1) => {
            let m = *insn.get(i + 2)?;
            Some((Store::Cmpxchg(reg(m)), i + 2 + modrm_len(&insn[i + 2..])?))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_stores() {
        // mov %rax, (%rdi)
        assert_eq!(decode_store(&[0x48, 0x89, 0x07]), Some((Store::MovReg(0), 3)));
        // mov %r9, 0x10(%rdx,%rcx,8)
        assert_eq!(decode_store(&[0x4c, 0x89, 0x4c, 0xca, 0x10]), Some((Store::MovReg(9), 5)));
        // movq $0, (%rdi)
        assert_eq!(decode_store(&[0x48, 0xc7, 0x07, 0, 0, 0, 0]), Some((Store::MovImm(0), 7)));
        // lock cmpxchg %rsi, (%rdi)
        assert_eq!(decode_store(&[0xf0, 0x48, 0x0f, 0xb1, 0x37]), Some((Store::Cmpxchg(6), 5)));
        // xchg %rdx, 0x12345678(%rip)
        assert_eq!(decode_store(&[0x48, 0x87, 0x15, 0x78, 0x56, 0x34, 0x12]), Some((Store::Xchg(2), 7)));
        // 32-bit mov, register destination, unknown opcode: not handled.
        assert_eq!(decode_store(&[0x89, 0x07]), None);
        assert_eq!(decode_store(&[0x48, 0x89, 0xc7]), None);
        assert_eq!(decode_store(&[0x48, 0x01, 0x07]), None);
    }
}
