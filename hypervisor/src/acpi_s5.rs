//! Find the S5 (soft-off) sleep type in a DSDT's AML without a full AML
//! interpreter: locate the `_S5_` name and decode the first two integers of
//! the package it names.

/// The `SLP_TYPa`/`SLP_TYPb` values of `\_S5`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SleepType {
    /// Value for PM1a_CNT.SLP_TYP.
    pub a: u8,
    /// Value for PM1b_CNT.SLP_TYP.
    pub b: u8,
}

const NAME_OP: u8 = 0x08;
const PACKAGE_OP: u8 = 0x12;
const ZERO_OP: u8 = 0x00;
const ONE_OP: u8 = 0x01;
const BYTE_PREFIX: u8 = 0x0a;

/// Decode one small integer term at `aml[*at]`, advancing past it.
fn integer(aml: &[u8], at: &mut usize) -> Option<u8> {
    let op = *aml.get(*at)?;
    *at += 1;
    match op {
        ZERO_OP => Some(0),
        ONE_OP => Some(1),
        BYTE_PREFIX => {
            let v = *aml.get(*at)?;
            *at += 1;
            Some(v)
        }
        _ => None,
    }
}

/// Search `aml` (a DSDT body) for `Name (_S5, Package () {a, b, ...})`.
pub fn find_s5(aml: &[u8]) -> Option<SleepType> {
    let mut from = 0;
    while let Some(rel) = aml.get(from..)?.windows(4).position(|w| w == b"_S5_") {
        let pos = from + rel;
        from = pos + 1;
        let named = pos >= 1
            && (aml[pos - 1] == NAME_OP || (pos >= 2 && aml[pos - 1] == b'\\' && aml[pos - 2] == NAME_OP));
        if !named || aml.get(pos + 4) != Some(&PACKAGE_OP) {
            continue;
        }
        // PkgLength: the top two bits of the lead byte give the extra bytes.
        let lead = *aml.get(pos + 5)?;
        let mut at = pos + 5 + 1 + usize::from(lead >> 6);
        at += 1; // NumElements
        let a = integer(aml, &mut at)?;
        let b = integer(aml, &mut at)?;
        return Some(SleepType { a, b });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_style_package() {
        // Name (_S5, Package (0x04) { Zero, Zero, Zero, Zero })
        let aml = [0x10, 0x08, b'_', b'S', b'5', b'_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00];
        assert_eq!(find_s5(&aml), Some(SleepType { a: 0, b: 0 }));
    }

    #[test]
    fn byte_prefixed_values_and_root_prefix() {
        let aml = [0x08, b'\\', b'_', b'S', b'5', b'_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x07, 0x00, 0x00];
        // `\` before the name: NameOp, RootChar, name.
        let mut v = aml.to_vec();
        v.swap(0, 1);
        v[0] = 0x08;
        v[1] = b'\\';
        assert_eq!(find_s5(&v), Some(SleepType { a: 5, b: 7 }));
    }

    #[test]
    fn unnamed_or_missing() {
        assert_eq!(find_s5(b"xx_S5_yy"), None);
        assert_eq!(find_s5(&[0x08, b'_', b'S', b'5', b'_', 0x12]), None);
        assert_eq!(find_s5(&[]), None);
    }
}
