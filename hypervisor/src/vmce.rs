//! The virtual machine-check architecture a PV guest sees (Xen's vMCE):
//! two banks, `MCG_CAP` by vendor as Xen sets it (Intel: SER, TES and
//! CMCI advertised; AMD: the bank count only), every `MCi_CTL` reading all
//! ones, and status/address/misc registers that hold what the hypervisor
//! injects (nothing so far) and that the guest may clear.

/// Banks a guest sees (Xen's `GUEST_MC_BANK_NUM`).
pub const GUEST_MC_BANK_NUM: u64 = 2;
const MCG_CTL_P: u64 = 1 << 8;
const MCG_CMCI_P: u64 = 1 << 10;
const MCG_TES_P: u64 = 1 << 11;
const MCG_SER_P: u64 = 1 << 24;

const MSR_MCG_CAP: u32 = 0x179;
const MSR_MCG_STATUS: u32 = 0x17a;
const MSR_MCG_CTL: u32 = 0x17b;
const MSR_MC0_CTL: u32 = 0x400;
const MSR_MC0_CTL2: u32 = 0x280;

/// One bank's registers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bank {
    /// `MCi_STATUS`.
    pub status: u64,
    /// `MCi_ADDR`.
    pub addr: u64,
    /// `MCi_MISC`.
    pub misc: u64,
}

/// A vCPU's machine-check state.
#[derive(Clone, Copy, Debug, Default)]
pub struct Vmce {
    /// `MCG_CAP`.
    pub mcg_cap: u64,
    /// `MCG_STATUS`.
    pub mcg_status: u64,
    /// The banks.
    pub bank: [Bank; GUEST_MC_BANK_NUM as usize],
    /// Intel layout (CMCI's `MCi_CTL2` registers exist).
    pub intel: bool,
}

impl Vmce {
    /// The state Xen gives a new vCPU on an Intel (`intel`) or AMD host.
    pub fn new(intel: bool) -> Self {
        let mcg_cap = if intel { MCG_SER_P | MCG_TES_P | MCG_CMCI_P | GUEST_MC_BANK_NUM } else { GUEST_MC_BANK_NUM };
        Self { mcg_cap, mcg_status: 0, bank: [Bank::default(); 2], intel }
    }

    fn banks(&self) -> u32 {
        (self.mcg_cap & 0xff) as u32
    }

    /// Whether `msr` is one of the machine-check MSRs this state answers.
    pub fn handles(&self, msr: u32) -> bool {
        matches!(msr, MSR_MCG_CAP | MSR_MCG_STATUS | MSR_MCG_CTL)
            || (MSR_MC0_CTL..MSR_MC0_CTL + 4 * self.banks()).contains(&msr)
            || (self.intel && (MSR_MC0_CTL2..MSR_MC0_CTL2 + self.banks()).contains(&msr))
    }

    /// Read `msr`; `None` when it is not a machine-check MSR of ours.
    pub fn rdmsr(&self, msr: u32) -> Option<u64> {
        if !self.handles(msr) {
            return None;
        }
        Some(match msr {
            MSR_MCG_CAP => self.mcg_cap,
            MSR_MCG_STATUS => self.mcg_status,
            MSR_MCG_CTL => {
                if self.mcg_cap & MCG_CTL_P != 0 {
                    !0
                } else {
                    0
                }
            }
            m if m >= MSR_MC0_CTL => {
                let (bank, reg) = (((m - MSR_MC0_CTL) / 4) as usize, (m - MSR_MC0_CTL) % 4);
                let b = self.bank.get(bank).copied().unwrap_or_default();
                match reg {
                    0 => !0,
                    1 => b.status,
                    2 => b.addr,
                    _ => b.misc,
                }
            }
            // MCi_CTL2: no CMCI is ever delivered.
            _ => 0,
        })
    }

    /// Write `msr`; false when the write is refused (#GP for the guest).
    pub fn wrmsr(&mut self, msr: u32, value: u64) -> bool {
        if !self.handles(msr) {
            return false;
        }
        match msr {
            MSR_MCG_CAP => value == self.mcg_cap,
            MSR_MCG_STATUS => {
                self.mcg_status = value;
                true
            }
            MSR_MCG_CTL => true,
            m if m >= MSR_MC0_CTL => {
                let (bank, reg) = (((m - MSR_MC0_CTL) / 4) as usize, (m - MSR_MC0_CTL) % 4);
                let Some(b) = self.bank.get_mut(bank) else { return true };
                match reg {
                    // Any value: MCi_CTL reads back all ones.
                    0 => true,
                    1 => {
                        b.status = value;
                        true
                    }
                    2 => {
                        b.addr = value;
                        true
                    }
                    _ => {
                        b.misc = value;
                        true
                    }
                }
            }
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xen_layout() {
        let v = Vmce::new(true);
        assert_eq!(v.rdmsr(MSR_MCG_CAP), Some(0x100_0c02));
        assert_eq!(v.rdmsr(MSR_MCG_STATUS), Some(0));
        assert_eq!(v.rdmsr(MSR_MC0_CTL), Some(!0));
        assert_eq!(v.rdmsr(MSR_MC0_CTL + 4 + 1), Some(0));
        assert_eq!(v.rdmsr(MSR_MC0_CTL + 8), None, "only two banks");
        let mut a = Vmce::new(false);
        assert_eq!(a.rdmsr(MSR_MCG_CAP), Some(2));
        assert_eq!(a.rdmsr(MSR_MC0_CTL2), None);
        assert!(a.wrmsr(MSR_MC0_CTL + 1, 0));
        assert!(!a.wrmsr(MSR_MCG_CAP, 5));
    }
}
