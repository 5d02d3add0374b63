//! `physdev_op`: the virtual I/O privilege level, and the hardware
//! domain's physical interrupts (pirqs mapped to GSIs, trigger setup,
//! EOI, status) and IO-APIC register access.

use dom0_abi::physdev::*;
use dom0_abi::Errno;

use super::{err, HcResult};
use crate::arch::x86_64::ioapic;
use crate::pv::pci_cfg;
use crate::arch::x86_64::uaccess::{read_guest, write_guest};
use crate::domain::Vcpu;

/// `physdev_op(cmd, arg)`.
pub fn physdev_op(v: &mut Vcpu, cmd: u32, arg: u64) -> HcResult {
    match cmd {
        PHYSDEVOP_set_iopl => {
            let iopl: u32 = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            if iopl > 3 {
                return err(Errno::EINVAL);
            }
            v.iopl = iopl << 12;
            Ok(0)
        }
        PHYSDEVOP_map_pirq => map_pirq(v, arg),
        PHYSDEVOP_unmap_pirq => {
            let u: PhysdevUnmapPirq = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            let domid = hardware_domain_target(v, u.domid.0)?;
            if let Some(gsi) = crate::irq::with(|t| t.unmap(domid, u.pirq as u32)).map_err(pirq_errno)? {
                ioapic::set_masked(gsi, true);
            }
            Ok(0)
        }
        PHYSDEVOP_setup_gsi => {
            // Xen's order: the argument, the GSI's range, then the
            // caller's right.
            let g: PhysdevSetupGsi = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            let gsi = u32::try_from(g.gsi).map_err(|_| Errno::EINVAL)?;
            if gsi >= crate::pirq::NR_GSIS {
                return err(Errno::EINVAL);
            }
            if !v.domain.is_privileged {
                return err(Errno::EPERM);
            }
            crate::irq::with(|t| t.setup(gsi, g.triggering != 0, g.polarity != 0)).map_err(|e| match e {
                crate::pirq::PirqError::Busy => Errno::EEXIST,
                e => pirq_errno(e),
            })?;
            Ok(0)
        }
        PHYSDEVOP_irq_status_query => {
            // As on Xen, every pirq is reported as needing an EOI: a guest
            // without the EOI bitmap must always EOI (edge EOIs are no-ops).
            let mut q: PhysdevIrqStatusQuery = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            if q.irq >= crate::pirq::NR_PIRQS {
                return err(Errno::EINVAL);
            }
            q.flags = XENIRQSTAT_needs_eoi;
            write_guest(arg, &q).map_err(|_| Errno::EFAULT)?;
            Ok(0)
        }
        PHYSDEVOP_eoi => {
            let e: PhysdevEoi = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            let d = v.domain;
            if let Some(gsi) = crate::irq::with(|t| t.eoi(d.domid, e.irq)).map_err(pirq_errno)? {
                ioapic::set_masked(gsi, false);
            }
            if d.pirq_auto_unmask.load(core::sync::atomic::Ordering::Acquire) {
                if let Some(port) = crate::irq::with(|t| t.gsi_of(d.domid, e.irq).and_then(|g| t.gsi(g)?.port)) {
                    let _ = super::event_channel::unmask_port(d, port);
                }
            }
            Ok(0)
        }
        PHYSDEVOP_pirq_eoi_gmfn_v1 | PHYSDEVOP_pirq_eoi_gmfn_v2 => {
            let g: PhysdevPirqEoiGmfn = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            let d = v.domain;
            let a = d.actor();
            crate::mm::frame_table::with(|m| m.get_page_and_type(g.gmfn, crate::mm::page::PageType::Writable, a))
                .map_err(|_| Errno::EINVAL)?;
            if d.pirq_eoi_mfn.compare_exchange(0, g.gmfn, core::sync::atomic::Ordering::AcqRel, core::sync::atomic::Ordering::Acquire).is_err() {
                crate::mm::frame_table::with(|m| m.put_page_and_type(g.gmfn));
                return err(Errno::EBUSY);
            }
            if cmd == PHYSDEVOP_pirq_eoi_gmfn_v1 {
                d.pirq_auto_unmask.store(true, core::sync::atomic::Ordering::Release);
            }
            Ok(0)
        }
        PHYSDEVOP_get_free_pirq => {
            let mut f: PhysdevGetFreePirq = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            f.pirq = crate::irq::with(|t| t.free_pirq(v.domain.domid)).map_err(pirq_errno)?;
            write_guest(arg, &f).map_err(|_| Errno::EFAULT)?;
            Ok(0)
        }
        PHYSDEVOP_alloc_irq_vector => {
            // As on Xen, a dummy: the "vector" is the IRQ itself; routing
            // happens at map_pirq/bind_pirq. The argument is read before
            // the caller's right is checked.
            let mut i: PhysdevIrq = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            if !v.domain.is_privileged {
                return err(Errno::EPERM);
            }
            i.vector = i.irq;
            write_guest(arg, &i).map_err(|_| Errno::EFAULT)?;
            Ok(0)
        }
        PHYSDEVOP_pci_device_add => {
            let a: PhysdevPciDeviceAdd = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            pci_device(v, || pci_cfg::device_add(a.seg, a.bus, a.devfn))
        }
        PHYSDEVOP_pci_device_remove => {
            let a: PhysdevPciDevice = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            pci_device(v, || pci_cfg::device_remove(a.seg, a.bus, a.devfn))
        }
        PHYSDEVOP_manage_pci_add | PHYSDEVOP_manage_pci_remove => {
            let a: PhysdevManagePci = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            if cmd == PHYSDEVOP_manage_pci_add {
                pci_device(v, || pci_cfg::device_add(0, a.bus, a.devfn))
            } else {
                pci_device(v, || pci_cfg::device_remove(0, a.bus, a.devfn))
            }
        }
        PHYSDEVOP_manage_pci_add_ext => {
            let a: PhysdevManagePciExt = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            pci_device(v, || pci_cfg::device_add(0, a.bus, a.devfn))
        }
        PHYSDEVOP_apic_read => {
            let mut a: PhysdevApic = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            if !v.domain.is_privileged {
                return err(Errno::EPERM);
            }
            a.value = ioapic::read(a.apic_physbase, a.reg).ok_or(Errno::EINVAL)?;
            write_guest(arg, &a).map_err(|_| Errno::EFAULT)?;
            Ok(0)
        }
        PHYSDEVOP_apic_write => {
            let a: PhysdevApic = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            if !v.domain.is_privileged {
                return err(Errno::EPERM);
            }
            ioapic_guest_write(a.apic_physbase, a.reg, a.value)
        }
        PHYSDEVOP_dbgp_op => {
            // physdev_dbgp_op: op, bus, then a physdev_pci_device. There
            // is no EHCI debug port to act on, which Xen answers with 0.
            if !v.domain.is_privileged {
                return err(Errno::EPERM);
            }
            let _: [u8; 6] = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            Ok(0)
        }
        _ => err(Errno::ENOSYS),
    }
}

/// The domain a pirq operation names: the caller itself (only the hardware
/// domain has physical interrupts here).
fn hardware_domain_target(v: &Vcpu, domid: u16) -> Result<u16, Errno> {
    if domid != dom0_abi::xen::DOMID_SELF && domid != v.domain.domid {
        // Xen looks the domain up before the caller's right to it.
        if crate::domain::by_id(domid).is_none() {
            return Err(Errno::ESRCH);
        }
        return Err(if v.domain.is_privileged { Errno::ESRCH } else { Errno::EPERM });
    }
    if !v.domain.is_privileged {
        return Err(Errno::EPERM);
    }
    Ok(v.domain.domid)
}

fn pirq_errno(e: crate::pirq::PirqError) -> Errno {
    use crate::pirq::PirqError::*;
    match e {
        Invalid => Errno::EINVAL,
        Denied => Errno::EPERM,
        Busy => Errno::EBUSY,
        NoSpace => Errno::ENOSPC,
    }
}

/// A PCI device report from the hardware domain (`ENODEV` when there is no
/// such device, `EPERM` from others).
fn pci_device(v: &Vcpu, f: impl FnOnce() -> Result<(), ()>) -> HcResult {
    if !v.domain.is_privileged {
        return err(Errno::EPERM);
    }
    f().map_err(|()| Errno::ENODEV)?;
    Ok(0)
}

/// `PHYSDEVOP_map_pirq` for a GSI: the pirq (the one asked for, or one
/// chosen) now names the GSI; its pin is programmed, masked until bound.
/// MSI is not supported (`EOPNOTSUPP`): drivers fall back to INTx.
fn map_pirq(v: &Vcpu, arg: u64) -> HcResult {
    let mut m: PhysdevMapPirq = read_guest(arg).map_err(|_| Errno::EFAULT)?;
    let domid = hardware_domain_target(v, m.domid.0)?;
    match m.r#type {
        MAP_PIRQ_TYPE_GSI => {}
        MAP_PIRQ_TYPE_MSI | MAP_PIRQ_TYPE_MSI_SEG | MAP_PIRQ_TYPE_MULTI_MSI => return err(Errno::EOPNOTSUPP),
        _ => return err(Errno::EINVAL),
    }
    let gsi = u32::try_from(m.index).map_err(|_| Errno::EINVAL)?;
    let want = u32::try_from(m.pirq).ok();
    let pirq = crate::irq::with(|t| t.map(domid, gsi, want)).map_err(pirq_errno)?;
    if !crate::irq::program(gsi, true) {
        let _ = crate::irq::with(|t| t.unmap(domid, pirq));
        return err(Errno::EINVAL);
    }
    m.pirq = pirq as i32;
    write_guest(arg, &m).map_err(|_| Errno::EFAULT)?;
    Ok(0)
}

/// dom0 writing an IO-APIC register. As on Xen, writes other than the low
/// half of a redirection entry are ignored. The hypervisor owns the
/// routing (vectors, destinations) and sets it up from `map_pirq` and
/// `setup_gsi`; Xen's legacy path that derives a pirq from a written entry
/// is not supported: `EINVAL`.
fn ioapic_guest_write(base: u64, reg: u32, value: u32) -> HcResult {
    if ioapic::read(base, 0).is_none() {
        return err(Errno::EINVAL);
    }
    if reg < 0x10 || reg & 1 != 0 {
        return Ok(0);
    }
    log::warn!("dom0 IO-APIC {base:#x}: legacy write of RTE {} = {value:#x} refused", (reg - 0x10) / 2);
    err(Errno::EINVAL)
}
