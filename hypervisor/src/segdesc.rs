//! Checking guest segment descriptors for 64-bit PV guests, as Xen does:
//! code and data segments get DPL 3 (the guest kernel runs in ring 3),
//! not-present and type-0 entries are harmless, call gates must target a
//! guest or flat ring-3 code selector and get DPL 0 (their original DPL
//! kept in the target selector's RPL) so that their use traps; every other
//! system descriptor is refused.

/// Entries below the hypervisor's reserved GDT page.
pub const FIRST_RESERVED_GDT_ENTRY: u64 = 14 * 512;
const FLAT_RING3_CS32: u16 = 0xe023;
const FLAT_RING3_CS64: u16 = 0xe033;

const SEG_P: u32 = 1 << 15;
const SEG_S: u32 = 1 << 12;
const SEG_DPL: u32 = 3 << 13;
const SEG_TYPE: u32 = 0xf00;

fn gate_selector_ok(sel: u16) -> bool {
    let sel = sel & !3;
    u64::from(sel >> 3) < FIRST_RESERVED_GDT_ENTRY
        || sel & 4 != 0
        || sel == FLAT_RING3_CS64 & !3
        || sel == FLAT_RING3_CS32 & !3
}

/// Check (and fix up) one descriptor; `None` when it must be refused.
pub fn check_descriptor(desc: u64) -> Option<u64> {
    let (mut a, mut b) = (desc as u32, (desc >> 32) as u32);
    if b & SEG_P == 0 {
        return Some(desc);
    }
    let dpl = ((b >> 13) & 3).max(3);
    b = (b & !SEG_DPL) | (dpl << 13);
    if b & SEG_S == 0 {
        match b & SEG_TYPE {
            0 => return Some(desc),
            0xc00 => {
                let cs = (a >> 16) as u16;
                if !gate_selector_ok(cs) {
                    return None;
                }
                // DPL 0 so that use of the gate traps; keep the DPL in RPL.
                b &= !SEG_DPL;
                let cs = (u32::from(cs) & !3) | ((desc >> 45) as u32 & 3);
                a = (a & 0xffff) | (cs << 16);
                if b & 0xff != 0 {
                    return None;
                }
            }
            _ => return None,
        }
    }
    Some(u64::from(a) | (u64::from(b) << 32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors() {
        // A call gate to the flat 64-bit code selector, DPL 3: kept, DPL 0,
        // with the DPL in the selector RPL.
        let gate = 0x0000_ec00_e033_1000u64;
        let checked = check_descriptor(gate).unwrap();
        assert_eq!((checked >> 45) & 3, 0);
        assert_eq!((checked >> 16) & 0xffff, 0xe033);
        // A call gate to a hypervisor selector is refused.
        assert_eq!(check_descriptor(0x0000_ec00_e008_1000), None);
        // Ring-0 flat code: DPL raised to 3.
        assert_eq!(check_descriptor(0x00af_9b00_0000_ffff), Some(0x00af_fb00_0000_ffff));
        // Not present: untouched.
        assert_eq!(check_descriptor(0x00af_1b00_0000_ffff), Some(0x00af_1b00_0000_ffff));
        // A TSS descriptor is refused.
        assert_eq!(check_descriptor(0x0000_8900_0000_0067), None);
    }
}
