//! Decoding the guest writes the hypervisor emulates on a PV kernel's own
//! page tables (writable page tables): `mov`, `xchg`, `(lock) cmpxchg`,
//! the read-modify-write ALU forms (`and`, `or`, `xor`, `add`, `sub`, with
//! a register or an immediate) and the bit operations `bts`/`btr`/`btc`,
//! of 1, 2, 4 or 8 bytes, with lock, segment, operand-size and REX
//! prefixes. Linux writes its PTEs with all of these (`set_pte`,
//! `ptep_set_wrprotect`'s `lock andb`, `ptep_test_and_clear_young`'s
//! `lock btr`, `ptep_get_and_clear`'s `xchg`).

/// The source operand of a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Src {
    /// A general register (number, x86 order with REX extension).
    Reg(u8),
    /// An immediate, sign-extended to 64 bits.
    Imm(u64),
}

/// What a decoded write does to its memory operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `mov`.
    Mov,
    /// `xchg` (the register gets the old value).
    Xchg,
    /// `cmpxchg` (compares with RAX).
    Cmpxchg,
    /// `add`.
    Add,
    /// `or`.
    Or,
    /// `and`.
    And,
    /// `sub`.
    Sub,
    /// `xor`.
    Xor,
    /// `bts` (bit number from the source).
    Bts,
    /// `btr`.
    Btr,
    /// `btc`.
    Btc,
}

/// A decoded write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Write {
    /// What it does.
    pub op: Op,
    /// Operand size in bytes (1, 2, 4 or 8).
    pub width: u8,
    /// Its source.
    pub src: Src,
    /// Instruction length.
    pub len: usize,
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

fn imm(b: &[u8], at: usize, size: usize) -> Option<u64> {
    Some(match size {
        1 => b.get(at).copied()? as i8 as i64 as u64,
        2 => i16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?) as i64 as u64,
        _ => i32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as i64 as u64,
    })
}

const ALU: [Option<Op>; 8] = [Some(Op::Add), Some(Op::Or), None, None, Some(Op::And), Some(Op::Sub), Some(Op::Xor), None];

/// Decode a write to memory; `None` for anything else (also byte
/// operations on AH/CH/DH/BH, which are not emulated).
pub fn decode_write(insn: &[u8]) -> Option<Write> {
    let w = decode(insn)?;
    let legacy_high_byte = matches!(w.src, Src::Reg(4..=7)) && w.width == 1 && !insn[..w.len].iter().any(|b| b & 0xf0 == 0x40);
    (!legacy_high_byte).then_some(w)
}

fn decode(insn: &[u8]) -> Option<Write> {
    let mut i = 0;
    let mut opsize16 = false;
    while let Some(&p) = insn.get(i) {
        match p {
            0xf0 | 0x2e | 0x36 | 0x3e | 0x26 | 0x64 | 0x65 => {}
            0x66 => opsize16 = true,
            _ => break,
        }
        i += 1;
        if i > 4 {
            return None;
        }
    }
    let mut rex = 0u8;
    if let Some(&r) = insn.get(i) {
        if r & 0xf0 == 0x40 {
            rex = r;
            i += 1;
        }
    }
    let full = if rex & 8 != 0 {
        8
    } else if opsize16 {
        2
    } else {
        4
    };
    let reg = |modrm: u8| ((modrm >> 3) & 7) | ((rex & 4) << 1);
    let op = *insn.get(i)?;
    let m = *insn.get(i + 1)?;
    let rm_end = |at: usize| -> Option<usize> { Some(at + modrm_len(&insn[at..])?) };
    let w = |op: Op, width: u8, src: Src, len: usize| Some(Write { op, width, src, len });
    match op {
        // ALU r/m, reg: 00/01 add, 08/09 or, 20/21 and, 28/29 sub, 30/31 xor.
        0x00..=0x31 if op & 7 <= 1 => {
            let kind = ALU[usize::from(op >> 3)]?;
            let width = if op & 1 == 0 { 1 } else { full };
            w(kind, width, Src::Reg(reg(m)), rm_end(i + 1)?)
        }
        0x80 | 0x81 | 0x83 => {
            let kind = ALU[usize::from((m >> 3) & 7)]?;
            let end = rm_end(i + 1)?;
            let (width, isz) = match op {
                0x80 => (1, 1),
                0x83 => (full, 1),
                _ => (full, if full == 2 { 2 } else { 4 }),
            };
            w(kind, width, Src::Imm(imm(insn, end, isz)?), end + isz)
        }
        0x86 | 0x87 => w(Op::Xchg, if op == 0x86 { 1 } else { full }, Src::Reg(reg(m)), rm_end(i + 1)?),
        0x88 | 0x89 => w(Op::Mov, if op == 0x88 { 1 } else { full }, Src::Reg(reg(m)), rm_end(i + 1)?),
        0xc6 | 0xc7 if (m >> 3) & 7 == 0 => {
            let end = rm_end(i + 1)?;
            let (width, isz) = if op == 0xc6 { (1, 1) } else { (full, if full == 2 { 2 } else { 4 }) };
            w(Op::Mov, width, Src::Imm(imm(insn, end, isz)?), end + isz)
        }
        0x0f => {
            let op2 = m;
            let m = *insn.get(i + 2)?;
            match op2 {
                0xb0 | 0xb1 => w(Op::Cmpxchg, if op2 == 0xb0 { 1 } else { full }, Src::Reg(reg(m)), rm_end(i + 2)?),
                0xab => w(Op::Bts, full, Src::Reg(reg(m)), rm_end(i + 2)?),
                0xb3 => w(Op::Btr, full, Src::Reg(reg(m)), rm_end(i + 2)?),
                0xbb => w(Op::Btc, full, Src::Reg(reg(m)), rm_end(i + 2)?),
                0xba => {
                    let kind = match (m >> 3) & 7 {
                        5 => Op::Bts,
                        6 => Op::Btr,
                        7 => Op::Btc,
                        _ => return None,
                    };
                    let end = rm_end(i + 2)?;
                    w(kind, full, Src::Imm(u64::from(*insn.get(end)?)), end + 1)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Arithmetic flags of x86 (CF, PF, ZF, SF, OF).
pub const FLAGS_MASK: u64 = (1 << 0) | (1 << 2) | (1 << 6) | (1 << 7) | (1 << 11);

/// The result of applying `op` with source value `src` to `old` (both of
/// `width` bytes): the new value and the arithmetic flags it sets (in
/// RFLAGS positions, within [`FLAGS_MASK`]). `Mov`, `Xchg` and `Cmpxchg`
/// are the caller's: they return `src` and no flags.
pub fn apply(op: Op, width: u8, old: u64, src: u64) -> (u64, u64) {
    let bits = u32::from(width) * 8;
    let mask = if bits == 64 { !0 } else { (1u64 << bits) - 1 };
    let (old, src) = (old & mask, src & mask);
    let sign = 1u64 << (bits - 1);
    let zf_sf_pf = |r: u64| {
        let mut f = 0;
        if r & mask == 0 {
            f |= 1 << 6;
        }
        if r & sign != 0 {
            f |= 1 << 7;
        }
        if (r as u8).count_ones() % 2 == 0 {
            f |= 1 << 2;
        }
        f
    };
    match op {
        Op::Mov | Op::Xchg | Op::Cmpxchg => (src, 0),
        Op::And | Op::Or | Op::Xor => {
            let r = match op {
                Op::And => old & src,
                Op::Or => old | src,
                _ => old ^ src,
            };
            (r, zf_sf_pf(r))
        }
        Op::Add => {
            let r = old.wrapping_add(src) & mask;
            let mut f = zf_sf_pf(r);
            if r < old {
                f |= 1;
            }
            if (old ^ r) & (src ^ r) & sign != 0 {
                f |= 1 << 11;
            }
            (r, f)
        }
        Op::Sub => {
            let r = old.wrapping_sub(src) & mask;
            let mut f = zf_sf_pf(r);
            if src > old {
                f |= 1;
            }
            if (old ^ src) & (old ^ r) & sign != 0 {
                f |= 1 << 11;
            }
            (r, f)
        }
        Op::Bts | Op::Btr | Op::Btc => {
            let bit = 1u64 << (src % u64::from(bits));
            let cf = u64::from(old & bit != 0);
            let r = match op {
                Op::Bts => old | bit,
                Op::Btr => old & !bit,
                _ => old ^ bit,
            };
            (r, cf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(b: &[u8]) -> Option<(Op, u8, Src, usize)> {
        decode_write(b).map(|w| (w.op, w.width, w.src, w.len))
    }

    #[test]
    fn decodes_writes() {
        // mov %rax, (%rdi)
        assert_eq!(d(&[0x48, 0x89, 0x07]), Some((Op::Mov, 8, Src::Reg(0), 3)));
        // mov %r9, 0x10(%rdx,%rcx,8)
        assert_eq!(d(&[0x4c, 0x89, 0x4c, 0xca, 0x10]), Some((Op::Mov, 8, Src::Reg(9), 5)));
        // movq $0, (%rdi)
        assert_eq!(d(&[0x48, 0xc7, 0x07, 0, 0, 0, 0]), Some((Op::Mov, 8, Src::Imm(0), 7)));
        // lock cmpxchg %rsi, (%rdi)
        assert_eq!(d(&[0xf0, 0x48, 0x0f, 0xb1, 0x37]), Some((Op::Cmpxchg, 8, Src::Reg(6), 5)));
        // xchg %rdx, 0x12345678(%rip)
        assert_eq!(d(&[0x48, 0x87, 0x15, 0x78, 0x56, 0x34, 0x12]), Some((Op::Xchg, 8, Src::Reg(2), 7)));
        // ds andb $0xfd, (%r12)  (Linux's ptep_set_wrprotect)
        assert_eq!(d(&[0x3e, 0x41, 0x80, 0x24, 0x24, 0xfd]), Some((Op::And, 1, Src::Imm(!2), 6)));
        // lock btr %rax, (%rdi)
        assert_eq!(d(&[0xf0, 0x48, 0x0f, 0xb3, 0x07]), Some((Op::Btr, 8, Src::Reg(0), 5)));
        // lock btrq $5, (%rdi)
        assert_eq!(d(&[0xf0, 0x48, 0x0f, 0xba, 0x37, 5]), Some((Op::Btr, 8, Src::Imm(5), 6)));
        // 32-bit mov to memory
        assert_eq!(d(&[0x89, 0x07]), Some((Op::Mov, 4, Src::Reg(0), 2)));
        // register destinations and other opcodes: not writes we handle.
        assert_eq!(d(&[0x48, 0x89, 0xc7]), None);
        assert_eq!(d(&[0x48, 0x8b, 0x07]), None);
    }

    #[test]
    fn applies_ops() {
        assert_eq!(apply(Op::And, 1, 0x67, !2), (0x65, 1 << 2));
        assert_eq!(apply(Op::Btr, 8, 0x20, 5), (0, 1));
        assert_eq!(apply(Op::Bts, 8, 0, 63).0, 1 << 63);
        assert_eq!(apply(Op::Sub, 4, 1, 2), (0xffff_ffff, 1 | (1 << 7) | (1 << 2)));
        assert_eq!(apply(Op::Add, 1, 0xff, 1).0, 0);
    }
}
