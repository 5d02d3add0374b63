//! CPUID faulting: where the CPU offers it, CPUID executed by a guest (at
//! CPL 3) raises #GP, so the hypervisor can answer with the PV CPUID policy,
//! as Xen does for PV guests on such hardware.

use super::uaccess::{rdmsr_safe, wrmsr_safe};

const MSR_PLATFORM_INFO: u32 = 0xce;
const PLATFORM_INFO_CPUID_FAULTING: u64 = 1 << 31;
const MSR_MISC_FEATURES_ENABLES: u32 = 0x140;
const MISC_FEATURES_CPUID_FAULTING: u64 = 1 << 0;

/// Turn CPUID faulting on for this CPU; returns whether it is on.
pub fn enable_this_cpu() -> bool {
    let supported = rdmsr_safe(MSR_PLATFORM_INFO).is_some_and(|v| v & PLATFORM_INFO_CPUID_FAULTING != 0);
    if !supported {
        return false;
    }
    let cur = rdmsr_safe(MSR_MISC_FEATURES_ENABLES).unwrap_or(0);
    wrmsr_safe(MSR_MISC_FEATURES_ENABLES, cur | MISC_FEATURES_CPUID_FAULTING)
}
