//! `dom0ops`: the operations a Linux dom0 uses on its way to init and its
//! toolstack uses first — `vcpu_op` (runstate, vcpu_info placement, NMIs,
//! physical ids), `platform_op`, the pirq and IO-APIC parts of
//! `physdev_op`, debug registers, `xenpmu_op`, `sysctl` and `domctl` —
//! with valid and invalid arguments, one answer a line.
#![no_std]
#![no_main]

use dom0_abi::domctl::{DomctlCmd, XenDomctl, XEN_DOMINF_running};
use dom0_abi::hypercall::*;
use dom0_abi::physdev::*;
use dom0_abi::platform::*;
use dom0_abi::sysctl::{SysctlCmd, XenSysctl};
use dom0_abi::types::DomId;
use dom0_abi::vcpu::*;
use dom0_abi::Pod;
use pv_guests::fmt::yes_no;
use pv_guests::hypercall::raw;
use pv_guests::report::show_raw;
use pv_guests::transcript::Transcript;
use pv_guests::{traps, StartInfo};

pv_guests::entry!(main);

/// Hypercall `nr` with up to three arguments.
fn hc(nr: u64, a1: u64, a2: u64, a3: u64) -> i64 {
    // SAFETY: every call below passes pointers to live objects of the type
    // the hypercall expects, or none.
    unsafe { raw(nr, a1, a2, a3, 0, 0) }
}

fn addr<T>(x: &T) -> u64 {
    x as *const T as u64
}

fn main(_si: &'static StartInfo) {
    let mut t = Transcript::begin("dom0ops");
    let table = traps::standard_table();
    t.fact("set_trap_table", show_raw(hc(HYPERVISOR_set_trap_table, addr(&table), 0, 0)));
    vcpu(&mut t);
    platform(&mut t);
    physdev(&mut t);
    debugreg(&mut t);
    t.fact("xenpmu_op(0)", show_raw(hc(HYPERVISOR_xenpmu_op, 0, 0, 0)));
    fifo(&mut t);
    mca(&mut t);
    sysctl(&mut t);
    domctl(&mut t);
    t.end();
}

fn vcpu(t: &mut Transcript) {
    let op = |cmd: u32, id: u64, arg: u64| hc(HYPERVISOR_vcpu_op, cmd.into(), id, arg);
    t.fact("vcpu_op(is_up, 0)", show_raw(op(VCPUOP_is_up, 0, 0)));
    t.fact("vcpu_op(is_up, 1)", show_raw(op(VCPUOP_is_up, 1, 0)));
    t.fact("vcpu_op(up, 0)", show_raw(op(VCPUOP_up, 0, 0)));
    static mut RUNSTATE: VcpuRunstateInfo = VcpuRunstateInfo { state: -1, state_entry_time: 0, time: [0; 4] };
    let area = VcpuRegisterRunstateMemoryArea { addr: core::ptr::addr_of!(RUNSTATE) as u64 };
    t.fact("vcpu_op(register_runstate_memory_area)", show_raw(op(VCPUOP_register_runstate_memory_area, 0, addr(&area))));
    // SAFETY: the hypervisor filled the area; a plain read of our static.
    let rs = unsafe { core::ptr::read_volatile(core::ptr::addr_of!(RUNSTATE)) };
    t.fact("runstate area: state", rs.state);
    t.fact("runstate area: entry time set", yes_no(rs.state_entry_time != 0));
    let bad = VcpuRegisterRunstateMemoryArea { addr: 0xffff_8000_0000_0000 };
    t.fact("vcpu_op(register_runstate_memory_area, hypervisor address)", show_raw(op(VCPUOP_register_runstate_memory_area, 0, addr(&bad))));
    let mut info = VcpuRunstateInfo { state: -1, state_entry_time: 0, time: [0; 4] };
    t.fact("vcpu_op(get_runstate_info)", show_raw(op(VCPUOP_get_runstate_info, 0, addr(&mut info))));
    t.fact("get_runstate_info: state", info.state);
    t.fact("get_runstate_info: ran", yes_no(info.time[RUNSTATE_running as usize] > 0));
    for (name, offset) in [("offset 4090", 4090u32), ("offset 4", 4)] {
        let r = VcpuRegisterVcpuInfo { mfn: 0, offset, rsvd: 0 };
        t.fact(pv_guests::key!("vcpu_op(register_vcpu_info, {name})"), show_raw(op(VCPUOP_register_vcpu_info, 0, addr(&r))));
    }
    let r = VcpuRegisterVcpuInfo { mfn: 0xfee00, offset: 0, rsvd: 0 };
    t.fact("vcpu_op(register_vcpu_info, local APIC frame)", show_raw(op(VCPUOP_register_vcpu_info, 0, addr(&r))));
    let mut id = VcpuGetPhysid::default();
    t.fact("vcpu_op(get_physid, 0)", show_raw(op(VCPUOP_get_physid, 0, addr(&mut id))));
    t.fact("vcpu_op(send_nmi, non-null argument)", show_raw(op(VCPUOP_send_nmi, 0, addr(&id))));
    t.fact("vcpu_op(99)", show_raw(op(99, 0, 0)));
    // An NMI sent to ourselves arrives through the NMI callback (vector 2
    // of the virtual IDT) on the way back from a hypercall.
    let cb = dom0_abi::callback::CallbackRegister {
        r#type: dom0_abi::callback::CALLBACKTYPE_nmi,
        flags: 0,
        address: traps::stub_address(2),
    };
    t.fact("callback_op(register nmi)", show_raw(hc(HYPERVISOR_callback_op, dom0_abi::callback::CALLBACKOP_register.into(), addr(&cb), 0)));
    let before = traps::count();
    t.fact("vcpu_op(send_nmi, 0)", show_raw(op(VCPUOP_send_nmi, 0, 0)));
    let _ = hc(HYPERVISOR_xen_version, 0, 0, 0);
    t.fact("NMI delivered", yes_no(traps::count() > before && traps::last().frame.vector == 2));
}

fn pf(op: &mut XenPlatformOp) -> i64 {
    hc(HYPERVISOR_platform_op, addr(op), 0, 0)
}

fn platform(t: &mut Transcript) {
    let mut op = XenPlatformOp::new(PlatformOpCmd::GetCpuinfo);
    op.interface_version = 1;
    t.fact("platform_op(bad interface version)", show_raw(pf(&mut op)));
    let mut op = XenPlatformOp::new(PlatformOpCmd::GetCpuinfo);
    t.fact("platform_op(get_cpuinfo, 0)", show_raw(pf(&mut op)));
    // SAFETY (all reads below): the union member of the command issued.
    let ci = unsafe { op.u.pcpu_info };
    t.fact("get_cpuinfo(0): flags", ci.flags);
    t.fact("get_cpuinfo(0): max_present", ci.max_present);
    t.specific("get_cpuinfo(0): apic_id", ci.apic_id);
    let mut op = XenPlatformOp::new(PlatformOpCmd::GetCpuinfo);
    op.u.pcpu_info.xen_cpuid = 5;
    t.fact("platform_op(get_cpuinfo, 5)", show_raw(pf(&mut op)));
    t.fact("get_cpuinfo(5): flags", unsafe { op.u.pcpu_info.flags });
    let mut op = XenPlatformOp::new(PlatformOpCmd::GetCpuVersion);
    t.fact("platform_op(get_cpu_version, 0)", show_raw(pf(&mut op)));
    let ver = unsafe { op.u.pcpu_version };
    t.fact("get_cpu_version(0): vendor", pv_guests::fmt::cstr(&ver.vendor_id));
    t.fact("get_cpu_version(0): family", ver.family);
    let mut op = XenPlatformOp::new(PlatformOpCmd::FirmwareInfo);
    op.u.firmware_info.r#type = 99;
    t.fact("platform_op(firmware_info, type 99)", show_raw(pf(&mut op)));
    let mut op = XenPlatformOp::new(PlatformOpCmd::FirmwareInfo);
    op.u.firmware_info.r#type = XEN_FW_KBD_SHIFT_FLAGS;
    op.u.firmware_info.index = 1;
    t.fact("platform_op(firmware_info, kbd_shift_flags 1)", show_raw(pf(&mut op)));
    let mut op = XenPlatformOp::new(PlatformOpCmd::ReadMemtype);
    op.u.read_memtype.reg = 200;
    t.fact("platform_op(read_memtype, 200)", show_raw(pf(&mut op)));
    let mut op = XenPlatformOp::new(PlatformOpCmd::Settime64);
    op.u.settime64.mbz = 1;
    t.fact("platform_op(settime64, mbz set)", show_raw(pf(&mut op)));
    let mut op = XenPlatformOp::new(PlatformOpCmd::Getidletime);
    t.fact("platform_op(getidletime)", show_raw(pf(&mut op)));
    let mut op = XenPlatformOp::new(PlatformOpCmd::EnterAcpiSleep);
    op.u.enter_acpi_sleep.sleep_state = 7;
    t.fact("platform_op(enter_acpi_sleep, S7)", show_raw(pf(&mut op)));
    let mut op = XenPlatformOp::new(PlatformOpCmd::GetCpuinfo);
    op.cmd = 99;
    t.fact("platform_op(99)", show_raw(pf(&mut op)));
}

fn pd<T>(cmd: u32, arg: &mut T) -> i64 {
    hc(HYPERVISOR_physdev_op, cmd.into(), addr(arg), 0)
}

fn physdev(t: &mut Transcript) {
    let mut m = PhysdevMapPirq { domid: DomId::SELF, r#type: MAP_PIRQ_TYPE_GSI, index: 9, pirq: 9, ..Default::default() };
    t.fact("physdev_op(map_pirq, GSI 9 as pirq 9)", show_raw(pd(PHYSDEVOP_map_pirq, &mut m)));
    t.fact("map_pirq: pirq", m.pirq);
    t.fact("physdev_op(map_pirq, GSI 9 again)", show_raw(pd(PHYSDEVOP_map_pirq, &mut m)));
    let mut m2 = PhysdevMapPirq { domid: DomId::SELF, r#type: MAP_PIRQ_TYPE_GSI, index: 200, pirq: 200, ..Default::default() };
    t.fact("physdev_op(map_pirq, GSI 200)", show_raw(pd(PHYSDEVOP_map_pirq, &mut m2)));
    let mut m3 = PhysdevMapPirq { domid: DomId::SELF, r#type: 99, index: 10, pirq: 10, ..Default::default() };
    t.fact("physdev_op(map_pirq, type 99)", show_raw(pd(PHYSDEVOP_map_pirq, &mut m3)));
    let mut m4 = PhysdevMapPirq { domid: DomId(5), r#type: MAP_PIRQ_TYPE_GSI, index: 10, pirq: 10, ..Default::default() };
    t.fact("physdev_op(map_pirq, domain 5)", show_raw(pd(PHYSDEVOP_map_pirq, &mut m4)));
    let mut q = PhysdevIrqStatusQuery { irq: 9, flags: 0 };
    t.fact("physdev_op(irq_status_query, 9)", show_raw(pd(PHYSDEVOP_irq_status_query, &mut q)));
    t.fact("irq_status_query(9): flags", q.flags);
    let mut q = PhysdevIrqStatusQuery { irq: 1, flags: 0 };
    t.fact("physdev_op(irq_status_query, 1, unmapped)", show_raw(pd(PHYSDEVOP_irq_status_query, &mut q)));
    t.fact("irq_status_query(1): flags", q.flags);
    let mut g = PhysdevPirqEoiGmfn { gmfn: 0xfee00 };
    t.fact("physdev_op(pirq_eoi_gmfn_v2, local APIC frame)", show_raw(pd(PHYSDEVOP_pirq_eoi_gmfn_v2, &mut g)));
    let mut q = PhysdevIrqStatusQuery { irq: 100_000, flags: 0 };
    t.fact("physdev_op(irq_status_query, 100000)", show_raw(pd(PHYSDEVOP_irq_status_query, &mut q)));
    let mut e = PhysdevEoi { irq: 9 };
    t.fact("physdev_op(eoi, 9)", show_raw(pd(PHYSDEVOP_eoi, &mut e)));
    let mut e = PhysdevEoi { irq: 100_000 };
    t.fact("physdev_op(eoi, 100000)", show_raw(pd(PHYSDEVOP_eoi, &mut e)));
    let mut u = PhysdevUnmapPirq { domid: DomId::SELF, pirq: 9 };
    t.fact("physdev_op(unmap_pirq, 9)", show_raw(pd(PHYSDEVOP_unmap_pirq, &mut u)));
    let mut v = PhysdevIrq { irq: 5, vector: 0 };
    t.fact("physdev_op(alloc_irq_vector, 5)", show_raw(pd(PHYSDEVOP_alloc_irq_vector, &mut v)));
    t.fact("alloc_irq_vector(5): vector", v.vector);
    let mut a = PhysdevApic { apic_physbase: 0xfec0_0000, reg: 1, value: 0 };
    t.fact("physdev_op(apic_read, IO-APIC version)", show_raw(pd(PHYSDEVOP_apic_read, &mut a)));
    t.fact("apic_read: version register", format_args!("{:#x}", a.value));
    let mut a = PhysdevApic { apic_physbase: 0xfec0_1000, reg: 1, value: 0 };
    t.fact("physdev_op(apic_read, no IO-APIC there)", show_raw(pd(PHYSDEVOP_apic_read, &mut a)));
    let mut d = PhysdevPciDevice { seg: 0, bus: 0, devfn: 0 };
    t.fact("physdev_op(pci_device_add, 00:00.0)", show_raw(pd(PHYSDEVOP_pci_device_add, &mut d)));
}

fn debugreg(t: &mut Transcript) {
    let set = |r: u64, v: u64| hc(HYPERVISOR_set_debugreg, r, v, 0);
    let get = |r: u64| hc(HYPERVISOR_get_debugreg, r, 0, 0);
    t.fact("get_debugreg(6)", format_args!("{:#x}", get(6)));
    t.fact("get_debugreg(7)", format_args!("{:#x}", get(7)));
    t.fact("set_debugreg(0, user address)", show_raw(set(0, 0x1000)));
    t.fact("get_debugreg(0)", format_args!("{:#x}", get(0)));
    t.fact("set_debugreg(0, hypervisor address)", show_raw(set(0, 0xffff_8000_0000_0000)));
    t.fact("set_debugreg(6, upper bits)", show_raw(set(6, 1 << 32)));
    t.fact("set_debugreg(7, general detect)", show_raw(set(7, 1 << 13)));
    t.fact("set_debugreg(7, 0)", show_raw(set(7, 0)));
    t.fact("get_debugreg(7) after", format_args!("{:#x}", get(7)));
    t.fact("get_debugreg(8)", show_raw(get(8)));
    t.fact("set_debugreg(0, 0)", show_raw(set(0, 0)));
}

/// The FIFO event-channel ABI's errors, without switching to it (the
/// transcript's own events keep the 2-level ABI).
fn fifo(t: &mut Transcript) {
    use dom0_abi::event_channel::*;
    let ev = |cmd: u32, arg: u64| hc(HYPERVISOR_event_channel_op, cmd.into(), arg, 0);
    let e = EvtchnExpandArray { array_gfn: 0 };
    t.fact("event_channel_op(expand_array) before init_control", show_raw(ev(EVTCHNOP_expand_array, addr(&e))));
    let mut a = EvtchnAllocUnbound { dom: DomId::SELF, remote_dom: DomId::SELF, port: 0 };
    t.fact("event_channel_op(alloc_unbound)", show_raw(ev(EVTCHNOP_alloc_unbound, addr(&mut a))));
    let p = EvtchnSetPriority { port: a.port, priority: 3 };
    t.fact("event_channel_op(set_priority) under 2-level", show_raw(ev(EVTCHNOP_set_priority, addr(&p))));
    let p = EvtchnSetPriority { port: 4000, priority: 3 };
    t.fact("event_channel_op(set_priority, unbound port)", show_raw(ev(EVTCHNOP_set_priority, addr(&p))));
    for (name, vcpu, offset) in [("vcpu 1", 1u32, 0u32), ("offset 4", 0, 4), ("offset 4096", 0, 4096)] {
        let c = EvtchnInitControl { control_gfn: 0, offset, vcpu, link_bits: 0, _pad: [0; 7] };
        t.fact(pv_guests::key!("event_channel_op(init_control, {name})"), show_raw(ev(EVTCHNOP_init_control, addr(&c))));
    }
    let c = EvtchnInitControl { control_gfn: 0xfee00, offset: 0, vcpu: 0, link_bits: 0, _pad: [0; 7] };
    t.fact("event_channel_op(init_control, local APIC frame)", show_raw(ev(EVTCHNOP_init_control, addr(&c))));
    let e = EvtchnExpandArray { array_gfn: 0 };
    t.fact("event_channel_op(expand_array) after a failed init_control", show_raw(ev(EVTCHNOP_expand_array, addr(&e))));
    let close = EvtchnClose { port: a.port };
    t.fact("event_channel_op(close)", show_raw(ev(EVTCHNOP_close, addr(&close))));
}

fn mca(t: &mut Transcript) {
    use dom0_abi::mca::*;
    let call = |op: &mut XenMc| hc(HYPERVISOR_mca, addr(op), 0, 0);
    let mut op = XenMc { cmd: XEN_MC_physcpuinfo, interface_version: 1, u: XenMcArgs { raw: [0; 18] } };
    t.fact("mca(bad interface version)", show_raw(call(&mut op)));
    let mut op = XenMc { cmd: XEN_MC_physcpuinfo, interface_version: XEN_MCA_INTERFACE_VERSION, u: XenMcArgs { raw: [0; 18] } };
    t.fact("mca(physcpuinfo, count)", show_raw(call(&mut op)));
    // SAFETY (reads below): the union member of the command issued.
    t.fact("physcpuinfo: ncpus", unsafe { op.u.mc_physcpuinfo.ncpus });
    let mut rec = [McinfoLogicalCpu::zeroed(); 2];
    op.u.mc_physcpuinfo = XenMcPhyscpuinfo { ncpus: 2, _pad0: 0, info: dom0_abi::types::GuestHandle::new(rec.as_mut_ptr() as u64) };
    t.fact("mca(physcpuinfo, records)", show_raw(call(&mut op)));
    t.fact("physcpuinfo[0]: vendor", pv_guests::fmt::cstr(&rec[0].mc_vendorid));
    t.fact("physcpuinfo[0]: cpuid level", rec[0].mc_cpuid_level);
    t.fact("physcpuinfo[0]: family/model/step", format_args!("{}/{}/{}", rec[0].mc_family, rec[0].mc_model, rec[0].mc_step));
    let mut op = XenMc { cmd: XEN_MC_fetch, interface_version: XEN_MCA_INTERFACE_VERSION, u: XenMcArgs { raw: [0; 18] } };
    op.u.mc_fetch.flags = XEN_MC_URGENT;
    t.fact("mca(fetch, urgent, no buffer)", show_raw(call(&mut op)));
    static mut MC_INFO: [u64; 128] = [0; 128];
    op.u.mc_fetch.data = dom0_abi::types::GuestHandle::new(core::ptr::addr_of_mut!(MC_INFO) as u64);
    t.fact("mca(fetch, urgent)", show_raw(call(&mut op)));
    t.fact("fetch: flags", unsafe { op.u.mc_fetch.flags });
    op.u.mc_fetch.flags = XEN_MC_NONURGENT | XEN_MC_ACK;
    t.fact("mca(fetch, ack)", show_raw(call(&mut op)));
    op.u.mc_fetch.flags = 0;
    t.fact("mca(fetch, no urgency)", show_raw(call(&mut op)));
    let mut op = XenMc { cmd: XEN_MC_notifydomain, interface_version: XEN_MCA_INTERFACE_VERSION, u: XenMcArgs { raw: [0; 18] } };
    t.fact("mca(notifydomain)", show_raw(call(&mut op)));
}

fn sysctl(t: &mut Transcript) {
    let sc = |op: &mut XenSysctl| hc(HYPERVISOR_sysctl, addr(op), 0, 0);
    let mut op = XenSysctl::new(SysctlCmd::Physinfo);
    op.interface_version = 1;
    t.fact("sysctl(bad interface version)", show_raw(sc(&mut op)));
    let mut op = XenSysctl::new(SysctlCmd::Physinfo);
    t.fact("sysctl(physinfo)", show_raw(sc(&mut op)));
    // SAFETY (all reads below): the union member of the command issued.
    let p = unsafe { op.u.physinfo };
    t.fact("physinfo: nr_cpus", p.nr_cpus);
    t.fact("physinfo: nr_nodes", p.nr_nodes);
    t.fact("physinfo: threads_per_core", p.threads_per_core);
    t.fact("physinfo: cores_per_socket", p.cores_per_socket);
    t.fact("physinfo: free below total", yes_no(p.free_pages < p.total_pages));
    t.specific("physinfo: capabilities", format_args!("{:#x}", p.capabilities));
    let mut op = XenSysctl::new(SysctlCmd::SchedId);
    t.fact("sysctl(sched_id)", show_raw(sc(&mut op)));
    t.specific("sched_id", unsafe { op.u.sched_id.sched_id });
    let mut list = [dom0_abi::domctl::XenDomctlGetdomaininfo::zeroed(); 4];
    let mut op = XenSysctl::new(SysctlCmd::Getdomaininfolist);
    op.u.getdomaininfolist.first_domain = DomId(0);
    op.u.getdomaininfolist.max_domains = 4;
    op.u.getdomaininfolist.buffer = dom0_abi::types::GuestHandle::new(list.as_mut_ptr() as u64);
    t.fact("sysctl(getdomaininfolist)", show_raw(sc(&mut op)));
    t.fact("getdomaininfolist: domains", unsafe { op.u.getdomaininfolist.num_domains });
    t.fact("getdomaininfolist[0]: domain", list[0].domain.0);
    t.fact("getdomaininfolist[0]: running", yes_no(list[0].flags & XEN_DOMINF_running != 0));
    t.fact("getdomaininfolist[0]: vcpus online", list[0].nr_online_vcpus);
    let mut buf = [0u8; 64];
    let mut op = XenSysctl::new(SysctlCmd::Readconsole);
    op.u.readconsole.count = buf.len() as u32;
    op.u.readconsole.buffer = dom0_abi::types::GuestHandle::new(buf.as_mut_ptr() as u64);
    t.fact("sysctl(readconsole, 64 bytes)", show_raw(sc(&mut op)));
    t.fact("readconsole: bytes", unsafe { op.u.readconsole.count });
}

fn domctl(t: &mut Transcript) {
    let dc = |op: &mut XenDomctl| hc(HYPERVISOR_domctl, addr(op), 0, 0);
    let mut op = XenDomctl::new(DomctlCmd::Getdomaininfo, DomId(0));
    op.interface_version = 1;
    t.fact("domctl(bad interface version)", show_raw(dc(&mut op)));
    let mut op = XenDomctl::new(DomctlCmd::Getdomaininfo, DomId(0));
    t.fact("domctl(getdomaininfo, 0)", show_raw(dc(&mut op)));
    // SAFETY: the union member of the command issued.
    let info = unsafe { op.u.getdomaininfo };
    t.fact("getdomaininfo(0): domain", info.domain.0);
    t.fact("getdomaininfo(0): max_vcpu_id", info.max_vcpu_id);
    t.fact("getdomaininfo(0): cpu time counted", yes_no(info.cpu_time > 0));
    let mut op = XenDomctl::new(DomctlCmd::Getdomaininfo, DomId(5));
    t.fact("domctl(getdomaininfo, 5)", show_raw(dc(&mut op)));
}
