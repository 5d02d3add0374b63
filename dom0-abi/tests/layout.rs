//! Layout conformance: every `#[repr(C)]` type of dom0-abi has the size,
//! alignment, field offsets and field sizes of its C definition in Xen
//! 4.17's public headers (and, for the Linux device interfaces, of the
//! copies of Linux's uapi headers that libxen-dev ships in
//! `/usr/include/xen/sys`), and key constants have the headers' values.
//!
//! Adding a struct is one line in `struct_table`; adding a constant is one
//! name in `const_table`.

#[macro_use]
mod support;

use dom0_abi::arch_x86::*;
use dom0_abi::callback::*;
use dom0_abi::console_io::*;
use dom0_abi::domctl::*;
use dom0_abi::elfnote::*;
use dom0_abi::errno::Errno;
use dom0_abi::event_channel::*;
use dom0_abi::features::*;
use dom0_abi::grant_table::*;
use dom0_abi::hypercall::*;
use dom0_abi::io::console::*;
use dom0_abi::io::xenbus::XenbusState;
use dom0_abi::io::xenstore_ring::*;
use dom0_abi::io::xs_wire::*;
use dom0_abi::linux::evtchn::*;
use dom0_abi::linux::gntdev::*;
use dom0_abi::linux::privcmd::*;
use dom0_abi::mca::*;
use dom0_abi::memory::*;
use dom0_abi::mmu::*;
use dom0_abi::nmi::*;
use dom0_abi::physdev::*;
use dom0_abi::platform::*;
use dom0_abi::sched::*;
use dom0_abi::sysctl::*;
use dom0_abi::types::*;
use dom0_abi::vcpu::*;
use dom0_abi::vm_assist::*;
use dom0_abi::xen::*;
use dom0_abi::xen_version::*;
use dom0_abi::XEN_INTERFACE_VERSION;

use support::{ConstCheck, StructCheck};

fn struct_table() -> Vec<StructCheck> {
    structs! {
        // ---- basic types --------------------------------------------------
        // No named fields: size and alignment only.
        DomId => "domid_t" {}
        GuestHandle<u8> => "XEN_GUEST_HANDLE(uint8)" { p }
        XenUuid => "xen_uuid_t" { a }
        XenctlBitmap => "struct xenctl_bitmap" { bitmap, nr_bits }

        // ---- arch-x86/xen-mca.h --------------------------------------------
        McinfoMsr => "struct mcinfo_msr" { reg, value }
        McinfoLogicalCpu => "struct mcinfo_logical_cpu" {
            mc_cpunr, mc_chipid, mc_coreid, mc_threadid, mc_apicid, mc_clusterid, mc_ncores, mc_ncores_active,
            mc_nthreads, mc_cpuid_level, mc_family, mc_vendor, mc_model, mc_step, mc_vendorid, mc_brandid,
            mc_cpu_caps, mc_cache_size, mc_cache_alignment, mc_nmsrvals, mc_msrvalues
        }
        XenMcFetch => "struct xen_mc_fetch" { flags, _pad0, fetch_id, data }
        XenMcPhyscpuinfo => "struct xen_mc_physcpuinfo" { ncpus, _pad0, info }
        XenMc => "struct xen_mc" { cmd, interface_version, u }

        // ---- xen.h ----------------------------------------------------------
        MulticallEntry => "struct multicall_entry" { op, result, args }
        VcpuTimeInfo => "struct vcpu_time_info" {
            version, pad0, tsc_timestamp, system_time, tsc_to_system_mul, tsc_shift, flags, pad1
        }
        VcpuInfo => "struct vcpu_info" {
            evtchn_upcall_pending, evtchn_upcall_mask, evtchn_pending_sel, arch, time,
            arch.cr2, time.system_time
        }
        SharedInfo => "struct shared_info" {
            vcpu_info, evtchn_pending, evtchn_mask, wc_version, wc_sec, wc_nsec, wc_sec_hi, arch,
            arch.max_pfn, arch.p2m_generation
        }
        StartInfoConsoleDomU => "MEMBER_T(struct start_info, console.domU)" { mfn, evtchn }
        StartInfoConsoleDom0 => "MEMBER_T(struct start_info, console.dom0)" { info_off, info_size }
        #[union] StartInfoConsole => "MEMBER_T(struct start_info, console)" { domU, dom0 }
        StartInfo => "struct start_info" {
            magic, nr_pages, shared_info, flags, store_mfn, store_evtchn, console, pt_base,
            nr_pt_frames, mfn_list, mod_start, mod_len, cmd_line, first_p2m_pfn, nr_p2m_frames,
            console.domU.mfn, console.domU.evtchn, console.dom0.info_off, console.dom0.info_size
        }
        XenMultibootModList => "struct xen_multiboot_mod_list" { mod_start, mod_end, cmdline, pad }
        VgaTextMode3 => "MEMBER_T(struct dom0_vga_console_info, u.text_mode_3)" {
            font_height, cursor_x, cursor_y, rows, columns
        }
        VgaVesaLfb => "MEMBER_T(struct dom0_vga_console_info, u.vesa_lfb)" {
            width, height, bytes_per_line, bits_per_pixel, lfb_base, lfb_size, red_pos, red_size,
            green_pos, green_size, blue_pos, blue_size, rsvd_pos, rsvd_size, gbl_caps,
            mode_attrs, pad, ext_lfb_base
        }
        #[union] VgaConsoleMode => "MEMBER_T(struct dom0_vga_console_info, u)" { text_mode_3, vesa_lfb }
        Dom0VgaConsoleInfo => "struct dom0_vga_console_info" { video_type, u }

        // ---- arch-x86 -------------------------------------------------------
        TrapInfo => "struct trap_info" { vector, flags, cs, address }
        CpuUserRegs => "struct cpu_user_regs" {
            r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi,
            error_code, entry_vector, rip, cs, _pad0, saved_upcall_mask, _pad1, rflags, rsp,
            ss, _pad2, es, _pad3, ds, _pad4, fs, _pad5, gs, _pad6
        }
        IretContext => "struct iret_context" { rax, r11, rcx, flags, rip, cs, rflags, rsp, ss }
        VcpuGuestContext => "struct vcpu_guest_context" {
            fpu_ctxt, flags, user_regs, trap_ctxt, ldt_base, ldt_ents, gdt_frames, gdt_ents,
            kernel_ss, kernel_sp, ctrlreg, debugreg, event_callback_eip, failsafe_callback_eip,
            syscall_callback_eip, vm_assist, fs_base, gs_base_kernel, gs_base_user,
            user_regs.rip, user_regs.gs
        }
        ArchVcpuInfo => "struct arch_vcpu_info" { cr2, pad }
        ArchSharedInfo => "struct arch_shared_info" {
            max_pfn, pfn_to_mfn_frame_list_list, nmi_reason, p2m_cr3, p2m_vaddr, p2m_generation
        }
        XenArchDomainconfig => "struct xen_arch_domainconfig" { emulation_flags, misc_flags }
        XenCpuidLeaf => "struct xen_cpuid_leaf" { leaf, subleaf, a, b, c, d }
        XenMsrEntry => "struct xen_msr_entry" { idx, flags, val }

        // ---- callback.h, nmi.h ----------------------------------------------
        CallbackRegister => "struct callback_register" { r#type, flags, address }
        CallbackUnregister => "struct callback_unregister" { r#type, _unused }
        XennmiCallback => "struct xennmi_callback" { handler_address, pad }

        // ---- mmu (xen.h) -----------------------------------------------------
        MmuUpdate => "struct mmu_update" { ptr, val }
        MmuextOp => "struct mmuext_op" { cmd, arg1, arg2 }

        // ---- sched.h ---------------------------------------------------------
        SchedShutdown => "struct sched_shutdown" { reason }
        SchedPoll => "struct sched_poll" { ports, nr_ports, timeout }
        SchedRemoteShutdown => "struct sched_remote_shutdown" { domain_id, reason }
        SchedWatchdog => "struct sched_watchdog" { id, timeout }
        SchedPinOverride => "struct sched_pin_override" { pcpu }

        // ---- vcpu.h ----------------------------------------------------------
        VcpuRunstateInfo => "struct vcpu_runstate_info" { state, state_entry_time, time }
        VcpuRegisterRunstateMemoryArea => "struct vcpu_register_runstate_memory_area" { addr }
        VcpuSetPeriodicTimer => "struct vcpu_set_periodic_timer" { period_ns }
        VcpuSetSingleshotTimer => "struct vcpu_set_singleshot_timer" { timeout_abs_ns, flags }
        VcpuRegisterVcpuInfo => "struct vcpu_register_vcpu_info" { mfn, offset, rsvd }
        VcpuGetPhysid => "struct vcpu_get_physid" { phys_id }
        VcpuRegisterTimeMemoryArea => "struct vcpu_register_time_memory_area" { addr }

        // ---- event_channel.h -------------------------------------------------
        EvtchnAllocUnbound => "struct evtchn_alloc_unbound" { dom, remote_dom, port }
        EvtchnBindInterdomain => "struct evtchn_bind_interdomain" { remote_dom, remote_port, local_port }
        EvtchnBindVirq => "struct evtchn_bind_virq" { virq, vcpu, port }
        EvtchnBindPirq => "struct evtchn_bind_pirq" { pirq, flags, port }
        EvtchnBindIpi => "struct evtchn_bind_ipi" { vcpu, port }
        EvtchnClose => "struct evtchn_close" { port }
        EvtchnSend => "struct evtchn_send" { port }
        EvtchnStatusUnbound => "MEMBER_T(struct evtchn_status, u.unbound)" { dom }
        EvtchnStatusInterdomain => "MEMBER_T(struct evtchn_status, u.interdomain)" { dom, port }
        #[union] EvtchnStatusDetail => "MEMBER_T(struct evtchn_status, u)" { unbound, interdomain, pirq, virq }
        EvtchnStatus => "struct evtchn_status" { dom, port, status, vcpu, u }
        EvtchnBindVcpu => "struct evtchn_bind_vcpu" { port, vcpu }
        EvtchnUnmask => "struct evtchn_unmask" { port }
        EvtchnReset => "struct evtchn_reset" { dom }
        EvtchnInitControl => "struct evtchn_init_control" { control_gfn, offset, vcpu, link_bits, _pad }
        EvtchnExpandArray => "struct evtchn_expand_array" { array_gfn }
        EvtchnSetPriority => "struct evtchn_set_priority" { port, priority }
        #[union] EvtchnOpArgs => "MEMBER_T(struct evtchn_op, u)" {
            alloc_unbound, bind_interdomain, bind_virq, bind_pirq, bind_ipi, close, send, status,
            bind_vcpu, unmask
        }
        EvtchnOp => "struct evtchn_op" { cmd, u }
        EvtchnFifoControlBlock => "struct evtchn_fifo_control_block" { ready, _rsvd, head }

        // ---- grant_table.h ---------------------------------------------------
        GrantEntryV1 => "struct grant_entry_v1" { flags, domid, frame }
        GrantEntryHeader => "struct grant_entry_header" { flags, domid }
        GrantEntryV2FullPage => "MEMBER_T(union grant_entry_v2, full_page)" { hdr, pad0, frame }
        GrantEntryV2SubPage => "MEMBER_T(union grant_entry_v2, sub_page)" { hdr, page_off, length, frame }
        GrantEntryV2Transitive => "MEMBER_T(union grant_entry_v2, transitive)" { hdr, trans_domid, pad0, gref }
        #[union] GrantEntryV2 => "union grant_entry_v2" { hdr, full_page, sub_page, transitive, __spacer }
        GnttabMapGrantRef => "struct gnttab_map_grant_ref" {
            host_addr, flags, r#ref, dom, status, handle, dev_bus_addr
        }
        GnttabUnmapGrantRef => "struct gnttab_unmap_grant_ref" { host_addr, dev_bus_addr, handle, status }
        GnttabSetupTable => "struct gnttab_setup_table" { dom, nr_frames, status, frame_list }
        GnttabDumpTable => "struct gnttab_dump_table" { dom, status }
        GnttabTransfer => "struct gnttab_transfer" { mfn, domid, r#ref, status }
        GnttabCopyPtr => "struct gnttab_copy_ptr" { u, domid, offset }
        GnttabCopy => "struct gnttab_copy" { source, dest, len, flags, status, source.domid, dest.offset }
        GnttabQuerySize => "struct gnttab_query_size" { dom, nr_frames, max_nr_frames, status }
        GnttabUnmapAndReplace => "struct gnttab_unmap_and_replace" { host_addr, new_addr, handle, status }
        GnttabSetVersion => "struct gnttab_set_version" { version }
        GnttabGetStatusFrames => "struct gnttab_get_status_frames" { nr_frames, dom, status, frame_list }
        GnttabGetVersion => "struct gnttab_get_version" { dom, pad, version }
        GnttabSwapGrantRef => "struct gnttab_swap_grant_ref" { ref_a, ref_b, status }
        GnttabCacheFlush => "struct gnttab_cache_flush" { a, offset, length, op }

        // ---- memory.h --------------------------------------------------------
        XenMemoryReservation => "struct xen_memory_reservation" {
            extent_start, nr_extents, extent_order, mem_flags, domid
        }
        XenMemoryExchange => "struct xen_memory_exchange" { r#in, out, nr_exchanged, out.domid }
        XenMemoryDomain => "struct xen_memory_domain" { domid }
        XenMachphysMfnList => "struct xen_machphys_mfn_list" { max_extents, extent_start, nr_extents }
        XenMachphysMapping => "struct xen_machphys_mapping" { v_start, v_end, max_mfn }
        XenAddToPhysmap => "struct xen_add_to_physmap" { domid, size, space, idx, gpfn }
        XenAddToPhysmapBatch => "struct xen_add_to_physmap_batch" {
            domid, space, size, u, idxs, gpfns, errs
        }
        XenRemoveFromPhysmap => "struct xen_remove_from_physmap" { domid, gpfn }
        XenMemoryMap => "struct xen_memory_map" { nr_entries, buffer }
        XenForeignMemoryMap => "struct xen_foreign_memory_map" { domid, map }
        XenPodTarget => "struct xen_pod_target" {
            target_pages, tot_pages, pod_cache_pages, pod_entries, domid
        }
        XenVmemrange => "struct xen_vmemrange" { start, end, flags, nid }
        XenVnumaTopologyInfo => "struct xen_vnuma_topology_info" {
            domid, pad, nr_vnodes, nr_vcpus, nr_vmemranges, vdistance, vcpu_to_vnode, vmemrange
        }
        XenReservedDeviceMemory => "struct xen_reserved_device_memory" { start_pfn, nr_pages }
        XenReservedDeviceMemoryMap => "struct xen_reserved_device_memory_map" {
            flags, nr_entries, buffer, dev, dev.bus = "dev.pci.bus"
        }
        XenMemAcquireResource => "struct xen_mem_acquire_resource" {
            domid, r#type, id, nr_frames, pad, frame, frame_list
        }

        // ---- physdev.h -------------------------------------------------------
        PhysdevEoi => "struct physdev_eoi" { irq }
        PhysdevPirqEoiGmfn => "struct physdev_pirq_eoi_gmfn" { gmfn }
        PhysdevIrqStatusQuery => "struct physdev_irq_status_query" { irq, flags }
        PhysdevSetIopl => "struct physdev_set_iopl" { iopl }
        PhysdevSetIobitmap => "struct physdev_set_iobitmap" { bitmap, nr_ports }
        PhysdevApic => "struct physdev_apic" { apic_physbase, reg, value }
        PhysdevIrq => "struct physdev_irq" { irq, vector }
        PhysdevMapPirq => "struct physdev_map_pirq" {
            domid, r#type, index, pirq, bus, devfn, entry_nr, table_base
        }
        PhysdevUnmapPirq => "struct physdev_unmap_pirq" { domid, pirq }
        PhysdevManagePci => "struct physdev_manage_pci" { bus, devfn }
        PhysdevRestoreMsi => "struct physdev_restore_msi" { bus, devfn }
        PhysdevPhysfn => "MEMBER_T(struct physdev_manage_pci_ext, physfn)" { bus, devfn }
        PhysdevManagePciExt => "struct physdev_manage_pci_ext" { bus, devfn, is_extfn, is_virtfn, physfn }
        #[union] PhysdevOpArgs => "MEMBER_T(struct physdev_op, u)" {
            irq_status_query, set_iopl, set_iobitmap, apic_op, irq_op
        }
        PhysdevOpCompat => "struct physdev_op" { cmd, u }
        PhysdevSetupGsi => "struct physdev_setup_gsi" { gsi, triggering, polarity }
        PhysdevGetFreePirq => "struct physdev_get_free_pirq" { r#type, pirq }
        PhysdevPciMmcfgReserved => "struct physdev_pci_mmcfg_reserved" {
            address, segment, start_bus, end_bus, flags
        }
        PhysdevPciDeviceAdd => "struct physdev_pci_device_add" { seg, bus, devfn, flags, physfn }
        PhysdevPciDevice => "struct physdev_pci_device" { seg, bus, devfn }
        PhysdevDbgpOp => "struct physdev_dbgp_op" { op, bus, u, u.devfn = "u.pci.devfn" }

        // ---- version.h -------------------------------------------------------
        XenCompileInfo => "struct xen_compile_info" { compiler, compile_by, compile_domain, compile_date }
        XenPlatformParameters => "struct xen_platform_parameters" { virt_start }
        XenFeatureInfo => "struct xen_feature_info" { submap_idx, submap }
        XenBuildId => "struct xen_build_id" { len }

        // ---- platform.h ------------------------------------------------------
        XenpfSettime32 => "struct xenpf_settime32" { secs, nsecs, system_time }
        XenpfSettime64 => "struct xenpf_settime64" { secs, nsecs, mbz, system_time }
        XenpfAddMemtype => "struct xenpf_add_memtype" { mfn, nr_mfns, r#type, handle, reg }
        XenpfDelMemtype => "struct xenpf_del_memtype" { handle, reg }
        XenpfReadMemtype => "struct xenpf_read_memtype" { reg, mfn, nr_mfns, r#type }
        XenpfMicrocodeUpdate => "struct xenpf_microcode_update" { data, length }
        XenpfPlatformQuirk => "struct xenpf_platform_quirk" { quirk_id }
        XenpfEfiTime => "struct xenpf_efi_time" { year, month, day, hour, min, sec, ns, tz, daylight }
        XenpfEfiGuid => "struct xenpf_efi_guid" { data1, data2, data3, data4 }
        XenpfEfiGetTime => "MEMBER_T(struct xenpf_efi_runtime_call, u.get_time)" { time, resolution, accuracy }
        XenpfEfiVariable => "MEMBER_T(struct xenpf_efi_runtime_call, u.get_variable)" {
            name, size, data, vendor_guid
        }
        XenpfEfiGetNextVariableName => "MEMBER_T(struct xenpf_efi_runtime_call, u.get_next_variable_name)" {
            size, name, vendor_guid
        }
        XenpfEfiQueryVariableInfo => "MEMBER_T(struct xenpf_efi_runtime_call, u.query_variable_info)" {
            attr, max_store_size, remain_store_size, max_size
        }
        XenpfEfiQueryCapsuleCapabilities => "MEMBER_T(struct xenpf_efi_runtime_call, u.query_capsule_capabilities)" {
            capsule_header_array, capsule_count, max_capsule_size, reset_type
        }
        XenpfEfiUpdateCapsule => "MEMBER_T(struct xenpf_efi_runtime_call, u.update_capsule)" {
            capsule_header_array, capsule_count, sg_list
        }
        #[union] XenpfEfiRuntimeCallArgs => "MEMBER_T(struct xenpf_efi_runtime_call, u)" {
            get_time, set_time, get_wakeup_time, set_wakeup_time, get_variable, set_variable,
            get_next_variable_name, query_variable_info, query_capsule_capabilities, update_capsule
        }
        XenpfEfiRuntimeCall => "struct xenpf_efi_runtime_call" { function, misc, status, u }
        XenpfDiskInfo => "MEMBER_T(struct xenpf_firmware_info, u.disk_info)" {
            device, version, interface_support, legacy_max_cylinder, legacy_max_head,
            legacy_sectors_per_track, edd_params
        }
        XenpfDiskMbrSignature => "MEMBER_T(struct xenpf_firmware_info, u.disk_mbr_signature)" {
            device, mbr_signature
        }
        XenpfVbeddcInfo => "MEMBER_T(struct xenpf_firmware_info, u.vbeddc_info)" {
            capabilities, edid_transfer_time, edid
        }
        XenpfEfiInfoCfg => "MEMBER_T(union xenpf_efi_info, cfg)" { addr, nent }
        XenpfEfiInfoVendor => "MEMBER_T(union xenpf_efi_info, vendor)" { revision, bufsz, name }
        XenpfEfiInfoMem => "MEMBER_T(union xenpf_efi_info, mem)" { addr, size, attr, r#type }
        XenpfEfiInfoPciRom => "MEMBER_T(union xenpf_efi_info, pci_rom)" {
            segment, bus, devfn, vendor, devid, address, size
        }
        XenpfEfiInfoAppleProperties => "MEMBER_T(union xenpf_efi_info, apple_properties)" { address, size }
        #[union] XenpfEfiInfo => "union xenpf_efi_info" {
            version, cfg, vendor, mem, pci_rom, apple_properties
        }
        #[union] XenpfFirmwareInfoArgs => "MEMBER_T(struct xenpf_firmware_info, u)" {
            disk_info, disk_mbr_signature, vbeddc_info, efi_info, kbd_shift_flags
        }
        XenpfFirmwareInfo => "struct xenpf_firmware_info" { r#type, index, u }
        XenpfEnterAcpiSleep => "struct xenpf_enter_acpi_sleep" { val_a, val_b, sleep_state, flags }
        XenpfChangeFreq => "struct xenpf_change_freq" { flags, cpu, freq }
        XenpfGetidletime => "struct xenpf_getidletime" { cpumap_bitmap, cpumap_nr_cpus, idletime, now }
        XenPowerRegister => "struct xen_power_register" { space_id, bit_width, bit_offset, access_size, address }
        XenProcessorCsd => "struct xen_processor_csd" { domain, coord_type, num }
        XenProcessorCx => "struct xen_processor_cx" { reg, r#type, latency, power, dpcnt, dp }
        XenProcessorFlags => "struct xen_processor_flags" { bits = "" }
        XenProcessorPower => "struct xen_processor_power" { count, flags, states }
        XenPctRegister => "struct xen_pct_register" {
            descriptor, length, space_id, bit_width, bit_offset, reserved, address
        }
        XenProcessorPx => "struct xen_processor_px" {
            core_frequency, power, transition_latency, bus_master_latency, control, status
        }
        XenPsdPackage => "struct xen_psd_package" { num_entries, revision, domain, coord_type, num_processors }
        XenProcessorPerformance => "struct xen_processor_performance" {
            flags, platform_limit, control_register, status_register, state_count, states,
            domain_info, shared_type
        }
        #[union] XenpfPminfoArgs => "MEMBER_T(struct xenpf_set_processor_pminfo, u)" { power, perf, pdc }
        XenpfSetProcessorPminfo => "struct xenpf_set_processor_pminfo" { id, r#type, u }
        XenpfPcpuinfo => "struct xenpf_pcpuinfo" { xen_cpuid, max_present, flags, apic_id, acpi_id }
        XenpfPcpuVersion => "struct xenpf_pcpu_version" {
            xen_cpuid, max_present, vendor_id, family, model, stepping
        }
        XenpfCpuOl => "struct xenpf_cpu_ol" { cpuid }
        XenpfCpuHotadd => "struct xenpf_cpu_hotadd" { apic_id, acpi_id, pxm }
        XenpfMemHotadd => "struct xenpf_mem_hotadd" { spfn, epfn, pxm, flags }
        XenpfCoreParking => "struct xenpf_core_parking" { r#type, idle_nums }
        XenpfResourceEntry => "struct xenpf_resource_entry" { u, rsvd, idx, val }
        XenpfResourceOp => "struct xenpf_resource_op" { nr_entries, cpu, entries }
        XenpfSymdata => "struct xenpf_symdata" { namelen, symnum, name, address, r#type }
        #[union] XenPlatformOpArgs => "MEMBER_T(struct xen_platform_op, u)" {
            settime, settime32, settime64, add_memtype, del_memtype, read_memtype, microcode,
            platform_quirk, efi_runtime_call, firmware_info, enter_acpi_sleep, change_freq,
            getidletime, set_pminfo, pcpu_info, pcpu_version, cpu_ol, cpu_add, mem_add,
            core_parking, resource_op, symdata, pad
        }
        XenPlatformOp => "struct xen_platform_op" { cmd, interface_version, u }

        // ---- domctl.h --------------------------------------------------------
        XenDomctlCreatedomain => "struct xen_domctl_createdomain" {
            ssidref, handle, flags, iommu_opts, max_vcpus, max_evtchn_port, max_grant_frames,
            max_maptrack_frames, grant_opts, vmtrace_size, cpupool_id, arch
        }
        XenDomctlGetdomaininfo => "struct xen_domctl_getdomaininfo" {
            domain, pad1, flags, tot_pages, max_pages, outstanding_pages, shr_pages, paged_pages,
            shared_info_frame, cpu_time, nr_online_vcpus, max_vcpu_id, ssidref, handle, cpupool,
            gpaddr_bits, pad2, arch_config
        }
        XenDomctlGetpageframeinfo3 => "struct xen_domctl_getpageframeinfo3" { num, array }
        XenDomctlShadowOpStats => "struct xen_domctl_shadow_op_stats" { fault_count, dirty_count }
        XenDomctlShadowOp => "struct xen_domctl_shadow_op" { op, mode, mb, dirty_bitmap, pages, stats }
        XenDomctlMaxMem => "struct xen_domctl_max_mem" { max_memkb }
        XenDomctlVcpucontext => "struct xen_domctl_vcpucontext" { vcpu, ctxt }
        XenDomctlGetvcpuinfo => "struct xen_domctl_getvcpuinfo" { vcpu, online, blocked, running, cpu_time, cpu }
        XenDomctlNodeaffinity => "struct xen_domctl_nodeaffinity" { nodemap }
        XenDomctlVcpuaffinity => "struct xen_domctl_vcpuaffinity" { vcpu, flags, cpumap_hard, cpumap_soft }
        XenDomctlMaxVcpus => "struct xen_domctl_max_vcpus" { max }
        XenDomctlSchedCredit => "struct xen_domctl_sched_credit" { weight, cap }
        XenDomctlSchedCredit2 => "struct xen_domctl_sched_credit2" { weight, cap }
        XenDomctlSchedRtds => "struct xen_domctl_sched_rtds" { period, budget, flags }
        #[union] XenDomctlSchedParams => "MEMBER_T(struct xen_domctl_schedparam_vcpu, u)" { credit, credit2, rtds }
        XenDomctlSchedparamVcpu => "struct xen_domctl_schedparam_vcpu" { u, vcpuid }
        XenDomctlSchedVcpus => "MEMBER_T(struct xen_domctl_scheduler_op, u.v)" { vcpus, nr_vcpus, padding }
        #[union] XenDomctlSchedulerOpArgs => "MEMBER_T(struct xen_domctl_scheduler_op, u)" { credit, credit2, rtds, v }
        XenDomctlSchedulerOp => "struct xen_domctl_scheduler_op" { sched_id, cmd, u }
        XenDomctlSetdomainhandle => "struct xen_domctl_setdomainhandle" { handle }
        XenDomctlSetdebugging => "struct xen_domctl_setdebugging" { enable }
        XenDomctlIrqPermission => "struct xen_domctl_irq_permission" { pirq, allow_access, pad }
        XenDomctlIomemPermission => "struct xen_domctl_iomem_permission" { first_mfn, nr_mfns, allow_access }
        XenDomctlIoportPermission => "struct xen_domctl_ioport_permission" { first_port, nr_ports, allow_access }
        XenDomctlHypercallInit => "struct xen_domctl_hypercall_init" { gmfn }
        XenDomctlSettimeoffset => "struct xen_domctl_settimeoffset" { time_offset_seconds }
        XenDomctlHvmcontext => "struct xen_domctl_hvmcontext" { size, buffer }
        XenDomctlAddressSize => "struct xen_domctl_address_size" { size }
        XenDomctlSendtrigger => "struct xen_domctl_sendtrigger" { trigger, vcpu }
        XenDomctlMemoryMapping => "struct xen_domctl_memory_mapping" {
            first_gfn, first_mfn, nr_mfns, add_mapping, padding
        }
        XenDomctlIoportMapping => "struct xen_domctl_ioport_mapping" {
            first_gport, first_mport, nr_ports, add_mapping
        }
        HvmVmceVcpu => "struct hvm_vmce_vcpu" { caps, mci_ctl2_bank0, mci_ctl2_bank1, mcg_ext_ctl }
        XenDomctlExtVcpucontext => "struct xen_domctl_ext_vcpucontext" {
            vcpu, size, syscall32_callback_eip, sysenter_callback_eip, syscall32_callback_cs,
            sysenter_callback_cs, syscall32_disables_events, sysenter_disables_events, vmce,
            vmce.caps = "mcg_cap"
        }
        XenDomctlSetTarget => "struct xen_domctl_set_target" { target }
        XenDomctlCpuPolicy => "struct xen_domctl_cpu_policy" {
            nr_leaves, nr_msrs, leaves, msrs, err_leaf, err_subleaf, err_msr
        }
        XenDomctlSubscribe => "struct xen_domctl_subscribe" { port }
        XenDomctlDebugOp => "struct xen_domctl_debug_op" { op, vcpu }
        XenDomctlHvmcontextPartial => "struct xen_domctl_hvmcontext_partial" { r#type, instance, bufsz, buffer }
        XenDomctlTscInfo => "struct xen_domctl_tsc_info" { tsc_mode, gtsc_khz, incarnation, pad, elapsed_nsec }
        XenDomctlAuditP2m => "struct xen_domctl_audit_p2m" { orphans, m2p_bad, p2m_bad }
        XenDomctlSetVirqHandler => "struct xen_domctl_set_virq_handler" { virq }
        XenDomctlVcpuextstate => "struct xen_domctl_vcpuextstate" { vcpu, xfeature_mask, size, buffer }
        XenDomctlSetBrokenPageP2m => "struct xen_domctl_set_broken_page_p2m" { pfn }
        XenDomctlCacheflush => "struct xen_domctl_cacheflush" { start_pfn, nr_pfns }
        XenDomctlPagingMempool => "struct xen_domctl_paging_mempool" { size }
        XenDomctlVcpuMsr => "struct xen_domctl_vcpu_msr" { index, reserved, value }
        XenDomctlVcpuMsrs => "struct xen_domctl_vcpu_msrs" { vcpu, msr_count, msrs }
        #[union] XenDomctlArgs => "MEMBER_T(struct xen_domctl, u)" {
            createdomain, getdomaininfo, getpageframeinfo3, nodeaffinity, vcpuaffinity, shadow_op,
            max_mem, vcpucontext, getvcpuinfo, max_vcpus, scheduler_op, setdomainhandle,
            setdebugging, irq_permission, iomem_permission, ioport_permission, hypercall_init,
            settimeoffset, tsc_info, hvmcontext, hvmcontext_partial, address_size, sendtrigger,
            memory_mapping, ioport_mapping, ext_vcpucontext, set_target, subscribe, debug_op,
            cpu_policy, vcpuextstate, vcpu_msrs, audit_p2m, set_virq_handler,
            set_broken_page_p2m, cacheflush, paging_mempool, pad
        }
        XenDomctl => "struct xen_domctl" { cmd, interface_version, domain, _pad, u }

        // ---- sysctl.h --------------------------------------------------------
        XenSysctlReadconsole => "struct xen_sysctl_readconsole" {
            clear, incremental, pad0, pad1, index, buffer, count
        }
        XenSysctlTbufOp => "struct xen_sysctl_tbuf_op" { cmd, cpu_mask, evt_mask, buffer_mfn, size }
        XenSysctlPhysinfo => "struct xen_sysctl_physinfo" {
            threads_per_core, cores_per_socket, nr_cpus, max_cpu_id, nr_nodes, max_node_id,
            cpu_khz, capabilities, arch_capabilities, pad, total_pages, free_pages, scrub_pages,
            outstanding_pages, max_mfn, hw_cap
        }
        XenSysctlSchedId => "struct xen_sysctl_sched_id" { sched_id }
        XenSysctlPerfcDesc => "struct xen_sysctl_perfc_desc" { name, nr_vals }
        XenSysctlPerfcOp => "struct xen_sysctl_perfc_op" { cmd, nr_counters, nr_vals, desc, val }
        XenSysctlGetdomaininfolist => "struct xen_sysctl_getdomaininfolist" {
            first_domain, max_domains, buffer, num_domains
        }
        XenSysctlDebugKeys => "struct xen_sysctl_debug_keys" { keys, nr_keys }
        XenSysctlCpuinfo => "struct xen_sysctl_cpuinfo" { idletime }
        XenSysctlGetcpuinfo => "struct xen_sysctl_getcpuinfo" { max_cpus, info, nr_cpus }
        XenSysctlAvailheap => "struct xen_sysctl_availheap" { min_bitwidth, max_bitwidth, node, avail_bytes }
        XenSysctlCpuHotplug => "struct xen_sysctl_cpu_hotplug" { cpu, op }
        XenSysctlCputopo => "struct xen_sysctl_cputopo" { core, socket, node }
        XenSysctlCputopoinfo => "struct xen_sysctl_cputopoinfo" { num_cpus, cputopo }
        XenSysctlMeminfo => "struct xen_sysctl_meminfo" { memsize, memfree }
        XenSysctlNumainfo => "struct xen_sysctl_numainfo" { num_nodes, meminfo, distance }
        XenSysctlCpupoolOp => "struct xen_sysctl_cpupool_op" {
            op, cpupool_id, sched_id, domid, cpu, n_dom, cpumap
        }
        XenSysctlCreditSchedule => "struct xen_sysctl_credit_schedule" {
            tslice_ms, ratelimit_us, vcpu_migr_delay_us
        }
        XenSysctlCredit2Schedule => "struct xen_sysctl_credit2_schedule" { ratelimit_us }
        #[union] XenSysctlSchedulerOpArgs => "MEMBER_T(struct xen_sysctl_scheduler_op, u)" {
            sched_arinc653, sched_credit, sched_credit2
        }
        XenSysctlSchedulerOp => "struct xen_sysctl_scheduler_op" { cpupool_id, sched_id, cmd, u }
        XenSysctlPcitopoinfo => "struct xen_sysctl_pcitopoinfo" { num_devs, devs, nodes }
        XenSysctlCpuLevellingCaps => "struct xen_sysctl_cpu_levelling_caps" { caps }
        XenSysctlCpuFeatureset => "struct xen_sysctl_cpu_featureset" { index, nr_features, features }
        XenSysctlCpuPolicy => "struct xen_sysctl_cpu_policy" { index, nr_leaves, nr_msrs, _rsvd, leaves, msrs }
        #[union] XenSysctlArgs => "MEMBER_T(struct xen_sysctl, u)" {
            readconsole, tbuf_op, physinfo, cputopoinfo, pcitopoinfo, numainfo, sched_id,
            perfc_op, getdomaininfolist, debug_keys, getcpuinfo, availheap, cpu_hotplug,
            cpupool_op, scheduler_op, cpu_levelling_caps, cpu_featureset, cpu_policy, pad
        }
        XenSysctl => "struct xen_sysctl" { cmd, interface_version, u }

        // ---- io/ -------------------------------------------------------------
        XenconsInterface => "struct xencons_interface" { r#in, out, in_cons, in_prod, out_cons, out_prod }
        XenstoreDomainInterface => "struct xenstore_domain_interface" {
            req, rsp, req_cons, req_prod, rsp_cons, rsp_prod, server_features, connection, error
        }
        XsdSockmsg => "struct xsd_sockmsg" { r#type, req_id, tx_id, len }

        // ---- Linux privcmd / evtchn / gntdev ---------------------------------
        PrivcmdHypercall => "struct privcmd_hypercall" { op, arg }
        PrivcmdMmapEntry => "struct privcmd_mmap_entry" { va, mfn, npages }
        PrivcmdMmap => "struct privcmd_mmap" { num, dom, entry }
        PrivcmdMmapbatch => "struct privcmd_mmapbatch" { num, dom, addr, arr }
        PrivcmdMmapbatchV2 => "struct privcmd_mmapbatch_v2" { num, dom, addr, arr, err }
        PrivcmdDmOpBuf => "struct privcmd_dm_op_buf" { uptr, size }
        PrivcmdDmOp => "struct privcmd_dm_op" { dom, num, ubufs }
        PrivcmdMmapResource => "struct privcmd_mmap_resource" { dom, r#type, id, idx, num, addr }
        IoctlEvtchnBindVirq => "struct ioctl_evtchn_bind_virq" { virq }
        IoctlEvtchnBindInterdomain => "struct ioctl_evtchn_bind_interdomain" { remote_domain, remote_port }
        IoctlEvtchnBindUnboundPort => "struct ioctl_evtchn_bind_unbound_port" { remote_domain }
        IoctlEvtchnUnbind => "struct ioctl_evtchn_unbind" { port }
        IoctlEvtchnNotify => "struct ioctl_evtchn_notify" { port }
        IoctlEvtchnRestrictDomid => "struct ioctl_evtchn_restrict_domid" { domid }
        IoctlGntdevGrantRef => "struct ioctl_gntdev_grant_ref" { domid, r#ref }
        IoctlGntdevMapGrantRef => "struct ioctl_gntdev_map_grant_ref" { count, pad, index, refs }
        IoctlGntdevUnmapGrantRef => "struct ioctl_gntdev_unmap_grant_ref" { index, count, pad }
        IoctlGntdevGetOffsetForVaddr => "struct ioctl_gntdev_get_offset_for_vaddr" { vaddr, offset, count, pad }
        IoctlGntdevSetMaxGrants => "struct ioctl_gntdev_set_max_grants" { count }
        IoctlGntdevUnmapNotify => "struct ioctl_gntdev_unmap_notify" { index, action, event_channel_port }
        IoctlGntdevForeignPtr => "MEMBER_T(struct ioctl_gntdev_grant_copy_segment, source.foreign)" {
            r#ref, offset, domid
        }
        #[union] IoctlGntdevCopyPtr => "MEMBER_T(struct ioctl_gntdev_grant_copy_segment, source)" { virt, foreign }
        IoctlGntdevGrantCopySegment => "struct ioctl_gntdev_grant_copy_segment" {
            source, dest, len, flags, status
        }
        IoctlGntdevGrantCopy => "struct ioctl_gntdev_grant_copy" { count, segments }
    }
}

fn const_table() -> Vec<ConstCheck> {
    let mut v: Vec<ConstCheck> = Vec::new();

    // Hypercall numbers: C spells them with two leading underscores.
    macro_rules! hypercalls {
        ($($name:ident),* $(,)?) => {
            $( v.push(ConstCheck {
                name: stringify!($name).to_string(),
                c: concat!("__", stringify!($name)).to_string(),
                value: $name,
            }); )*
        };
    }
    hypercalls!(
        HYPERVISOR_set_trap_table, HYPERVISOR_mmu_update, HYPERVISOR_set_gdt,
        HYPERVISOR_stack_switch, HYPERVISOR_set_callbacks, HYPERVISOR_fpu_taskswitch,
        HYPERVISOR_sched_op_compat, HYPERVISOR_platform_op, HYPERVISOR_set_debugreg,
        HYPERVISOR_get_debugreg, HYPERVISOR_update_descriptor, HYPERVISOR_memory_op,
        HYPERVISOR_multicall, HYPERVISOR_update_va_mapping, HYPERVISOR_set_timer_op,
        HYPERVISOR_event_channel_op_compat, HYPERVISOR_xen_version, HYPERVISOR_console_io,
        HYPERVISOR_physdev_op_compat, HYPERVISOR_grant_table_op, HYPERVISOR_vm_assist,
        HYPERVISOR_update_va_mapping_otherdomain, HYPERVISOR_iret, HYPERVISOR_vcpu_op,
        HYPERVISOR_set_segment_base, HYPERVISOR_mmuext_op, HYPERVISOR_xsm_op,
        HYPERVISOR_nmi_op, HYPERVISOR_sched_op, HYPERVISOR_callback_op,
        HYPERVISOR_xenoprof_op, HYPERVISOR_event_channel_op, HYPERVISOR_physdev_op,
        HYPERVISOR_hvm_op, HYPERVISOR_sysctl, HYPERVISOR_domctl, HYPERVISOR_kexec_op,
        HYPERVISOR_tmem_op, HYPERVISOR_argo_op, HYPERVISOR_xenpmu_op, HYPERVISOR_dm_op,
        HYPERVISOR_hypfs_op, HYPERVISOR_arch_0, HYPERVISOR_arch_1, HYPERVISOR_arch_2,
        HYPERVISOR_arch_3, HYPERVISOR_arch_4, HYPERVISOR_arch_5, HYPERVISOR_arch_6,
        HYPERVISOR_arch_7, HYPERVISOR_mca,
    );
    assert_eq!(Hypercall::ALL.len(), 50, "every hypercall number has a variant");

    // Errno: every value Xen exposes to guests (`XEN_` prefix in C).
    for &e in Errno::ALL.iter().filter(|e| !e.is_internal()) {
        v.push(ConstCheck {
            name: format!("Errno::{}", e.name()),
            c: format!("XEN_{}", e.name()),
            value: e.raw() as i64 as u64,
        });
    }
    v.extend(consts_expr![
        (Errno::EWOULDBLOCK.raw(), "XEN_EWOULDBLOCK"),
        (Errno::EDEADLOCK.raw(), "XEN_EDEADLOCK"),
        (XEN_INTERFACE_VERSION, "__XEN_LATEST_INTERFACE_VERSION__"),
    ]);

    v.extend(consts_same![
        // xen.h
        VIRQ_TIMER, VIRQ_DEBUG, VIRQ_CONSOLE, VIRQ_DOM_EXC, VIRQ_TBUF, VIRQ_DEBUGGER,
        VIRQ_XENOPROF, VIRQ_CON_RING, VIRQ_PCPU_STATE, VIRQ_MEM_EVENT, VIRQ_ARGO, VIRQ_ENOMEM,
        VIRQ_XENPMU, VIRQ_ARCH_0, VIRQ_ARCH_1, VIRQ_ARCH_2, VIRQ_ARCH_3, VIRQ_ARCH_4,
        VIRQ_ARCH_5, VIRQ_ARCH_6, VIRQ_ARCH_7, NR_VIRQS, VIRQ_MCA,
        MMU_NORMAL_PT_UPDATE, MMU_MACHPHYS_UPDATE, MMU_PT_UPDATE_PRESERVE_AD,
        MMU_PT_UPDATE_NO_TRANSLATE,
        MMUEXT_PIN_L1_TABLE, MMUEXT_PIN_L2_TABLE, MMUEXT_PIN_L3_TABLE, MMUEXT_PIN_L4_TABLE,
        MMUEXT_UNPIN_TABLE, MMUEXT_NEW_BASEPTR, MMUEXT_TLB_FLUSH_LOCAL, MMUEXT_INVLPG_LOCAL,
        MMUEXT_TLB_FLUSH_MULTI, MMUEXT_INVLPG_MULTI, MMUEXT_TLB_FLUSH_ALL, MMUEXT_INVLPG_ALL,
        MMUEXT_FLUSH_CACHE, MMUEXT_SET_LDT, MMUEXT_NEW_USER_BASEPTR, MMUEXT_CLEAR_PAGE,
        MMUEXT_COPY_PAGE, MMUEXT_FLUSH_CACHE_GLOBAL, MMUEXT_MARK_SUPER, MMUEXT_UNMARK_SUPER,
        UVMF_NONE, UVMF_TLB_FLUSH, UVMF_INVLPG, UVMF_FLUSHTYPE_MASK, UVMF_MULTI, UVMF_LOCAL,
        UVMF_ALL,
        CONSOLEIO_write, CONSOLEIO_read,
        VMASST_CMD_enable, VMASST_CMD_disable, VMASST_TYPE_4gb_segments,
        VMASST_TYPE_4gb_segments_notify, VMASST_TYPE_writable_pagetables,
        VMASST_TYPE_pae_extended_cr3, VMASST_TYPE_architectural_iopl,
        VMASST_TYPE_runstate_update_flag, VMASST_TYPE_m2p_strict,
        DOMID_FIRST_RESERVED, DOMID_SELF, DOMID_IO, DOMID_XEN, DOMID_COW, DOMID_INVALID,
        DOMID_IDLE, DOMID_MASK,
        XEN_PVCLOCK_TSC_STABLE_BIT, XEN_PVCLOCK_GUEST_STOPPED,
        SIF_PRIVILEGED, SIF_INITDOMAIN, SIF_MULTIBOOT_MOD, SIF_MOD_START_PFN,
        SIF_VIRT_P2M_4TOOLS, SIF_PM_MASK, MAX_GUEST_CMDLINE,
        XEN_VGATYPE_TEXT_MODE_3, XEN_VGATYPE_VESA_LFB, XEN_VGATYPE_EFI_LFB,
        // arch-x86
        HYPERVISOR_VIRT_START, HYPERVISOR_VIRT_END, MACH2PHYS_VIRT_START, MACH2PHYS_VIRT_END,
        MACH2PHYS_NR_ENTRIES, XEN_LEGACY_MAX_VCPUS, FIRST_RESERVED_GDT_PAGE,
        FIRST_RESERVED_GDT_BYTE, FIRST_RESERVED_GDT_ENTRY,
        FLAT_RING3_CS32, FLAT_RING3_CS64, FLAT_RING3_DS32, FLAT_RING3_DS64, FLAT_RING3_SS32,
        FLAT_RING3_SS64, FLAT_KERNEL_DS64, FLAT_KERNEL_DS32, FLAT_KERNEL_DS, FLAT_KERNEL_CS64,
        FLAT_KERNEL_CS32, FLAT_KERNEL_CS, FLAT_KERNEL_SS64, FLAT_KERNEL_SS32, FLAT_KERNEL_SS,
        FLAT_USER_DS64, FLAT_USER_DS32, FLAT_USER_DS, FLAT_USER_CS64, FLAT_USER_CS32,
        FLAT_USER_CS, FLAT_USER_SS64, FLAT_USER_SS32, FLAT_USER_SS,
        SEGBASE_FS, SEGBASE_GS_USER, SEGBASE_GS_KERNEL, SEGBASE_GS_USER_SEL,
        _VGCF_i387_valid, VGCF_i387_valid, VGCF_I387_VALID, _VGCF_in_kernel, VGCF_in_kernel,
        VGCF_IN_KERNEL, _VGCF_failsafe_disables_events, VGCF_failsafe_disables_events,
        _VGCF_syscall_disables_events, VGCF_syscall_disables_events, _VGCF_online,
        VGCF_online, _VGCF_in_syscall, VGCF_in_syscall, VGCF_IN_SYSCALL,
        XEN_X86_EMU_LAPIC, XEN_X86_EMU_HPET, XEN_X86_EMU_PM, XEN_X86_EMU_RTC,
        XEN_X86_EMU_IOAPIC, XEN_X86_EMU_PIC, XEN_X86_EMU_VGA, XEN_X86_EMU_IOMMU,
        XEN_X86_EMU_PIT, XEN_X86_EMU_USE_PIRQ, XEN_X86_EMU_VPCI, XEN_X86_EMU_ALL,
        XEN_X86_MSR_RELAXED, XEN_X86_MISC_FLAGS_MAX, XEN_CPUID_NO_SUBLEAF,
        _XEN_X86_EMU_LAPIC, _XEN_X86_EMU_HPET, _XEN_X86_EMU_PM, _XEN_X86_EMU_RTC,
        _XEN_X86_EMU_IOAPIC, _XEN_X86_EMU_PIC, _XEN_X86_EMU_VGA, _XEN_X86_EMU_IOMMU,
        _XEN_X86_EMU_PIT, _XEN_X86_EMU_USE_PIRQ, _XEN_X86_EMU_VPCI,
        // features.h
        XENFEAT_writable_page_tables, XENFEAT_writable_descriptor_tables,
        XENFEAT_auto_translated_physmap, XENFEAT_supervisor_mode_kernel,
        XENFEAT_pae_pgdir_above_4gb, XENFEAT_mmu_pt_update_preserve_ad,
        XENFEAT_highmem_assist, XENFEAT_gnttab_map_avail_bits, XENFEAT_hvm_callback_vector,
        XENFEAT_hvm_safe_pvclock, XENFEAT_hvm_pirqs, XENFEAT_dom0,
        XENFEAT_memory_op_vnode_supported, XENFEAT_ARM_SMCCC_supported,
        XENFEAT_linux_rsdp_unrestricted, XENFEAT_not_direct_mapped, XENFEAT_direct_mapped,
        XENFEAT_NR_SUBMAPS,
        // callback.h, nmi.h
        CALLBACKTYPE_event, CALLBACKTYPE_failsafe, CALLBACKTYPE_syscall,
        CALLBACKTYPE_sysenter_deprecated, CALLBACKTYPE_nmi, CALLBACKTYPE_sysenter,
        CALLBACKTYPE_syscall32, _CALLBACKF_mask_events, CALLBACKF_mask_events,
        CALLBACKOP_register, CALLBACKOP_unregister,
        XEN_NMIREASON_io_error, XEN_NMIREASON_pci_serr, XEN_NMIREASON_unknown,
        _XEN_NMIREASON_io_error, _XEN_NMIREASON_pci_serr, _XEN_NMIREASON_unknown,
        XENNMI_register_callback, XENNMI_unregister_callback,
        // sched.h
        SCHEDOP_yield, SCHEDOP_block, SCHEDOP_shutdown, SCHEDOP_poll, SCHEDOP_remote_shutdown,
        SCHEDOP_shutdown_code, SCHEDOP_watchdog, SCHEDOP_pin_override,
        SHUTDOWN_poweroff, SHUTDOWN_reboot, SHUTDOWN_suspend, SHUTDOWN_crash,
        SHUTDOWN_watchdog, SHUTDOWN_soft_reset, SHUTDOWN_MAX,
        // vcpu.h
        VCPUOP_initialise, VCPUOP_up, VCPUOP_down, VCPUOP_is_up, VCPUOP_get_runstate_info,
        VCPUOP_register_runstate_memory_area, VCPUOP_set_periodic_timer,
        VCPUOP_stop_periodic_timer, VCPUOP_set_singleshot_timer, VCPUOP_stop_singleshot_timer,
        VCPUOP_register_vcpu_info, VCPUOP_send_nmi, VCPUOP_get_physid,
        VCPUOP_register_vcpu_time_memory_area,
        RUNSTATE_running, RUNSTATE_runnable, RUNSTATE_blocked, RUNSTATE_offline,
        XEN_RUNSTATE_UPDATE, VCPU_SSHOTTMR_future, _VCPU_SSHOTTMR_future,
        // version.h
        XENVER_version, XENVER_extraversion, XENVER_compile_info, XENVER_capabilities,
        XENVER_changeset, XENVER_platform_parameters, XENVER_get_features, XENVER_pagesize,
        XENVER_guest_handle, XENVER_commandline, XENVER_build_id, XEN_EXTRAVERSION_LEN,
        XEN_CAPABILITIES_INFO_LEN, XEN_CHANGESET_INFO_LEN,
        // event_channel.h
        EVTCHNOP_bind_interdomain, EVTCHNOP_bind_virq, EVTCHNOP_bind_pirq, EVTCHNOP_close,
        EVTCHNOP_send, EVTCHNOP_status, EVTCHNOP_alloc_unbound, EVTCHNOP_bind_ipi,
        EVTCHNOP_bind_vcpu, EVTCHNOP_unmask, EVTCHNOP_reset, EVTCHNOP_init_control,
        EVTCHNOP_expand_array, EVTCHNOP_set_priority, BIND_PIRQ__WILL_SHARE,
        EVTCHNSTAT_closed, EVTCHNSTAT_unbound, EVTCHNSTAT_interdomain, EVTCHNSTAT_pirq,
        EVTCHNSTAT_virq, EVTCHNSTAT_ipi, EVTCHN_2L_NR_CHANNELS, EVTCHN_FIFO_PRIORITY_MAX,
        EVTCHN_FIFO_PRIORITY_DEFAULT, EVTCHN_FIFO_PRIORITY_MIN, EVTCHN_FIFO_MAX_QUEUES,
        EVTCHN_FIFO_PENDING, EVTCHN_FIFO_MASKED, EVTCHN_FIFO_LINKED, EVTCHN_FIFO_BUSY,
        EVTCHN_FIFO_LINK_BITS, EVTCHN_FIFO_LINK_MASK, EVTCHN_FIFO_NR_CHANNELS,
        // grant_table.h
        GNTTAB_NR_RESERVED_ENTRIES, GNTTAB_RESERVED_CONSOLE, GNTTAB_RESERVED_XENSTORE,
        GTF_invalid, GTF_permit_access, GTF_accept_transfer, GTF_transitive, GTF_type_mask,
        _GTF_readonly, GTF_readonly, _GTF_reading, GTF_reading, _GTF_writing, GTF_writing,
        _GTF_PWT, GTF_PWT, _GTF_PCD, GTF_PCD, _GTF_PAT, GTF_PAT, _GTF_sub_page, GTF_sub_page,
        _GTF_transfer_committed, GTF_transfer_committed, _GTF_transfer_completed,
        GTF_transfer_completed,
        GNTTABOP_map_grant_ref, GNTTABOP_unmap_grant_ref, GNTTABOP_setup_table,
        GNTTABOP_dump_table, GNTTABOP_transfer, GNTTABOP_copy, GNTTABOP_query_size,
        GNTTABOP_unmap_and_replace, GNTTABOP_set_version, GNTTABOP_get_status_frames,
        GNTTABOP_get_version, GNTTABOP_swap_grant_ref, GNTTABOP_cache_flush,
        _GNTCOPY_source_gref, GNTCOPY_source_gref, _GNTCOPY_dest_gref, GNTCOPY_dest_gref,
        GNTTAB_CACHE_CLEAN, GNTTAB_CACHE_INVAL, GNTTAB_CACHE_SOURCE_GREF,
        _GNTMAP_device_map, GNTMAP_device_map, _GNTMAP_host_map, GNTMAP_host_map,
        _GNTMAP_readonly, GNTMAP_readonly, _GNTMAP_application_map, GNTMAP_application_map,
        _GNTMAP_contains_pte, GNTMAP_contains_pte, _GNTMAP_guest_avail0,
        GNTMAP_guest_avail_mask,
        GNTST_okay, GNTST_general_error, GNTST_bad_domain, GNTST_bad_gntref, GNTST_bad_handle,
        GNTST_bad_virt_addr, GNTST_bad_dev_addr, GNTST_no_device_space,
        GNTST_permission_denied, GNTST_bad_page, GNTST_bad_copy_arg, GNTST_address_too_big,
        GNTST_eagain, GNTST_no_space,
        // memory.h
        XENMEM_increase_reservation, XENMEM_decrease_reservation, XENMEM_maximum_ram_page,
        XENMEM_current_reservation, XENMEM_maximum_reservation, XENMEM_machphys_mfn_list,
        XENMEM_populate_physmap, XENMEM_add_to_physmap, XENMEM_memory_map,
        XENMEM_machine_memory_map, XENMEM_exchange, XENMEM_machphys_mapping,
        XENMEM_set_memory_map, XENMEM_maximum_gpfn, XENMEM_remove_from_physmap,
        XENMEM_set_pod_target, XENMEM_get_pod_target, XENMEM_get_sharing_freed_pages,
        XENMEM_get_sharing_shared_pages, XENMEM_paging_op, XENMEM_access_op,
        XENMEM_sharing_op, XENMEM_add_to_physmap_batch, XENMEM_claim_pages,
        XENMEM_machphys_compat_mfn_list, XENMEM_get_vnumainfo,
        XENMEM_reserved_device_memory_map, XENMEM_acquire_resource,
        XENMEMF_populate_on_demand, XENMEMF_exact_node_request, XENMEMF_vnode,
        XENMAPSPACE_shared_info, XENMAPSPACE_grant_table, XENMAPSPACE_gmfn,
        XENMAPSPACE_gmfn_range, XENMAPSPACE_gmfn_foreign, XENMAPSPACE_dev_mmio,
        XENMAPIDX_grant_table_status, XENMEM_RDM_ALL, XENMEM_resource_ioreq_server,
        XENMEM_resource_grant_table, XENMEM_resource_vmtrace_buf,
        XENMEM_resource_grant_table_id_shared, XENMEM_resource_grant_table_id_status,
        XENMEM_resource_ioreq_server_frame_bufioreq,
        // physdev.h
        PHYSDEVOP_eoi, PHYSDEVOP_pirq_eoi_gmfn_v1, PHYSDEVOP_pirq_eoi_gmfn_v2,
        PHYSDEVOP_pirq_eoi_gmfn, PHYSDEVOP_irq_status_query, PHYSDEVOP_set_iopl,
        PHYSDEVOP_set_iobitmap, PHYSDEVOP_apic_read, PHYSDEVOP_apic_write,
        PHYSDEVOP_alloc_irq_vector, PHYSDEVOP_free_irq_vector, PHYSDEVOP_map_pirq,
        PHYSDEVOP_unmap_pirq, PHYSDEVOP_manage_pci_add, PHYSDEVOP_manage_pci_remove,
        PHYSDEVOP_restore_msi, PHYSDEVOP_manage_pci_add_ext, PHYSDEVOP_setup_gsi,
        PHYSDEVOP_get_free_pirq, PHYSDEVOP_pci_mmcfg_reserved, PHYSDEVOP_pci_device_add,
        PHYSDEVOP_pci_device_remove, PHYSDEVOP_restore_msi_ext, PHYSDEVOP_dbgp_op,
        PHYSDEVOP_prepare_msix, PHYSDEVOP_release_msix, PHYSDEVOP_IRQ_UNMASK_NOTIFY,
        XENIRQSTAT_needs_eoi, XENIRQSTAT_shared, _XENIRQSTAT_needs_eoi, _XENIRQSTAT_shared, MAP_PIRQ_TYPE_MSI, MAP_PIRQ_TYPE_GSI,
        MAP_PIRQ_TYPE_UNKNOWN, MAP_PIRQ_TYPE_MSI_SEG, MAP_PIRQ_TYPE_MULTI_MSI,
        XEN_PCI_MMCFG_RESERVED, XEN_PCI_DEV_EXTFN, XEN_PCI_DEV_VIRTFN, XEN_PCI_DEV_PXM,
        PHYSDEVOP_DBGP_RESET_PREPARE, PHYSDEVOP_DBGP_RESET_DONE, PHYSDEVOP_DBGP_BUS_UNKNOWN,
        PHYSDEVOP_DBGP_BUS_PCI,
        // platform.h
        XENPF_INTERFACE_VERSION, XENPF_settime32, XENPF_settime64, XENPF_settime,
        XENPF_add_memtype, XENPF_del_memtype, XENPF_read_memtype, XENPF_microcode_update,
        XENPF_platform_quirk, XENPF_get_cpu_version, XENPF_efi_runtime_call,
        XENPF_firmware_info, XENPF_enter_acpi_sleep, XENPF_change_freq, XENPF_getidletime,
        XENPF_set_processor_pminfo, XENPF_get_cpuinfo, XENPF_cpu_online, XENPF_cpu_offline,
        XENPF_cpu_hotadd, XENPF_mem_hotadd, XENPF_core_parking, XENPF_resource_op,
        XENPF_get_symbol, QUIRK_NOIRQBALANCING, QUIRK_IOAPIC_BAD_REGSEL,
        QUIRK_IOAPIC_GOOD_REGSEL, XEN_EFI_get_time, XEN_EFI_set_time, XEN_EFI_get_wakeup_time,
        XEN_EFI_set_wakeup_time, XEN_EFI_get_next_high_monotonic_count, XEN_EFI_get_variable,
        XEN_EFI_set_variable, XEN_EFI_get_next_variable_name, XEN_EFI_query_variable_info,
        XEN_EFI_query_capsule_capabilities, XEN_EFI_update_capsule, XEN_FW_DISK_INFO,
        XEN_FW_DISK_MBR_SIGNATURE, XEN_FW_VBEDDC_INFO, XEN_FW_EFI_INFO, XEN_FW_EFI_VERSION,
        XEN_FW_EFI_CONFIG_TABLE, XEN_FW_EFI_VENDOR, XEN_FW_EFI_MEM_INFO, XEN_FW_EFI_RT_VERSION,
        XEN_FW_EFI_PCI_ROM, XEN_FW_EFI_APPLE_PROPERTIES, XEN_FW_KBD_SHIFT_FLAGS,
        XENPF_ACPI_SLEEP_EXTENDED, XEN_PROCESSOR_PM_CX, XEN_PROCESSOR_PM_PX,
        XEN_PROCESSOR_PM_TX, XEN_PM_CX, XEN_PM_PX, XEN_PM_TX, XEN_PM_PDC, XEN_PX_PCT,
        XEN_PX_PSS, XEN_PX_PPC, XEN_PX_PSD, XEN_CPUPERF_SHARED_TYPE_HW,
        XEN_CPUPERF_SHARED_TYPE_ALL, XEN_CPUPERF_SHARED_TYPE_ANY, XEN_PCPU_FLAGS_ONLINE,
        XEN_PCPU_FLAGS_INVALID, XEN_CORE_PARKING_SET, XEN_CORE_PARKING_GET,
        XEN_RESOURCE_OP_MSR_READ, XEN_RESOURCE_OP_MSR_WRITE,
        // domctl.h
        XEN_DOMCTL_INTERFACE_VERSION,
        XEN_DOMCTL_createdomain, XEN_DOMCTL_destroydomain, XEN_DOMCTL_pausedomain,
        XEN_DOMCTL_unpausedomain, XEN_DOMCTL_getdomaininfo, XEN_DOMCTL_setvcpuaffinity,
        XEN_DOMCTL_shadow_op, XEN_DOMCTL_max_mem, XEN_DOMCTL_setvcpucontext,
        XEN_DOMCTL_getvcpucontext, XEN_DOMCTL_getvcpuinfo, XEN_DOMCTL_max_vcpus,
        XEN_DOMCTL_scheduler_op, XEN_DOMCTL_setdomainhandle, XEN_DOMCTL_setdebugging,
        XEN_DOMCTL_irq_permission, XEN_DOMCTL_iomem_permission, XEN_DOMCTL_ioport_permission,
        XEN_DOMCTL_hypercall_init, XEN_DOMCTL_settimeoffset, XEN_DOMCTL_getvcpuaffinity,
        XEN_DOMCTL_real_mode_area, XEN_DOMCTL_resumedomain, XEN_DOMCTL_sendtrigger,
        XEN_DOMCTL_subscribe, XEN_DOMCTL_gethvmcontext, XEN_DOMCTL_sethvmcontext,
        XEN_DOMCTL_set_address_size, XEN_DOMCTL_get_address_size, XEN_DOMCTL_assign_device,
        XEN_DOMCTL_bind_pt_irq, XEN_DOMCTL_memory_mapping, XEN_DOMCTL_ioport_mapping,
        XEN_DOMCTL_set_ext_vcpucontext, XEN_DOMCTL_get_ext_vcpucontext,
        XEN_DOMCTL_set_opt_feature, XEN_DOMCTL_test_assign_device, XEN_DOMCTL_set_target,
        XEN_DOMCTL_deassign_device, XEN_DOMCTL_unbind_pt_irq, XEN_DOMCTL_get_device_group,
        XEN_DOMCTL_debug_op, XEN_DOMCTL_gethvmcontext_partial, XEN_DOMCTL_vm_event_op,
        XEN_DOMCTL_mem_sharing_op, XEN_DOMCTL_gettscinfo, XEN_DOMCTL_settscinfo,
        XEN_DOMCTL_getpageframeinfo3, XEN_DOMCTL_setvcpuextstate, XEN_DOMCTL_getvcpuextstate,
        XEN_DOMCTL_set_access_required, XEN_DOMCTL_audit_p2m, XEN_DOMCTL_set_virq_handler,
        XEN_DOMCTL_set_broken_page_p2m, XEN_DOMCTL_setnodeaffinity,
        XEN_DOMCTL_getnodeaffinity, XEN_DOMCTL_cacheflush, XEN_DOMCTL_get_vcpu_msrs,
        XEN_DOMCTL_set_vcpu_msrs, XEN_DOMCTL_setvnumainfo, XEN_DOMCTL_psr_cmt_op,
        XEN_DOMCTL_monitor_op, XEN_DOMCTL_psr_alloc, XEN_DOMCTL_soft_reset,
        XEN_DOMCTL_vuart_op, XEN_DOMCTL_get_cpu_policy, XEN_DOMCTL_set_cpu_policy,
        XEN_DOMCTL_vmtrace_op, XEN_DOMCTL_get_paging_mempool_size,
        XEN_DOMCTL_set_paging_mempool_size, XEN_DOMCTL_gdbsx_guestmemio,
        XEN_DOMCTL_gdbsx_pausevcpu, XEN_DOMCTL_gdbsx_unpausevcpu, XEN_DOMCTL_gdbsx_domstatus,
        XEN_DOMCTL_CDF_hvm, XEN_DOMCTL_CDF_hap, XEN_DOMCTL_CDF_s3_integrity,
        XEN_DOMCTL_CDF_oos_off, XEN_DOMCTL_CDF_xs_domain, XEN_DOMCTL_CDF_iommu,
        XEN_DOMCTL_CDF_nested_virt, XEN_DOMCTL_CDF_vpmu, XEN_DOMCTL_CDF_MAX,
        XEN_DOMCTL_IOMMU_no_sharept, XEN_DOMCTL_IOMMU_MAX, XEN_DOMCTL_GRANT_version_mask,
        XEN_DOMINF_dying, XEN_DOMINF_hvm_guest, XEN_DOMINF_shutdown, XEN_DOMINF_paused,
        XEN_DOMINF_blocked, XEN_DOMINF_running, XEN_DOMINF_debugged, XEN_DOMINF_xs_domain,
        XEN_DOMINF_hap, XEN_DOMINF_shutdownmask, XEN_DOMINF_shutdownshift,
        XEN_INVALID_MAX_VCPU_ID,
        _XEN_DOMCTL_CDF_hvm, _XEN_DOMCTL_CDF_hap, _XEN_DOMCTL_CDF_s3_integrity,
        _XEN_DOMCTL_CDF_oos_off, _XEN_DOMCTL_CDF_xs_domain, _XEN_DOMCTL_CDF_iommu,
        _XEN_DOMCTL_CDF_nested_virt, _XEN_DOMCTL_IOMMU_no_sharept, _XEN_DOMINF_dying,
        _XEN_DOMINF_hvm_guest, _XEN_DOMINF_shutdown, _XEN_DOMINF_paused, _XEN_DOMINF_blocked,
        _XEN_DOMINF_running, _XEN_DOMINF_debugged, _XEN_DOMINF_xs_domain, _XEN_DOMINF_hap,
        _XEN_VCPUAFFINITY_HARD, _XEN_VCPUAFFINITY_SOFT, _XEN_VCPUAFFINITY_FORCE,
        _XEN_DOMCTL_SCHEDRT_extra,
        XEN_DOMCTL_PFINFO_LTAB_SHIFT, XEN_DOMCTL_PFINFO_NOTAB, XEN_DOMCTL_PFINFO_L1TAB,
        XEN_DOMCTL_PFINFO_L2TAB, XEN_DOMCTL_PFINFO_L3TAB, XEN_DOMCTL_PFINFO_L4TAB,
        XEN_DOMCTL_PFINFO_LTABTYPE_MASK, XEN_DOMCTL_PFINFO_LPINTAB, XEN_DOMCTL_PFINFO_XTAB,
        XEN_DOMCTL_PFINFO_XALLOC, XEN_DOMCTL_PFINFO_BROKEN, XEN_DOMCTL_PFINFO_LTAB_MASK,
        XEN_DOMCTL_SHADOW_OP_OFF, XEN_DOMCTL_SHADOW_OP_ENABLE, XEN_DOMCTL_SHADOW_OP_CLEAN,
        XEN_DOMCTL_SHADOW_OP_PEEK, XEN_DOMCTL_SHADOW_OP_GET_ALLOCATION,
        XEN_DOMCTL_SHADOW_OP_SET_ALLOCATION, XEN_DOMCTL_SHADOW_OP_ENABLE_TEST,
        XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY,
        XEN_DOMCTL_SHADOW_ENABLE_REFCOUNT, XEN_DOMCTL_SHADOW_ENABLE_LOG_DIRTY,
        XEN_DOMCTL_SHADOW_ENABLE_TRANSLATE, XEN_DOMCTL_SHADOW_ENABLE_EXTERNAL,
        XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL,
        XEN_VCPUAFFINITY_HARD, XEN_VCPUAFFINITY_SOFT, XEN_VCPUAFFINITY_FORCE,
        XEN_SCHEDULER_CREDIT, XEN_SCHEDULER_CREDIT2, XEN_SCHEDULER_ARINC653,
        XEN_SCHEDULER_RTDS, XEN_SCHEDULER_NULL, XEN_DOMCTL_SCHEDRT_extra,
        XEN_DOMCTL_SCHEDOP_putinfo, XEN_DOMCTL_SCHEDOP_getinfo,
        XEN_DOMCTL_SCHEDOP_putvcpuinfo, XEN_DOMCTL_SCHEDOP_getvcpuinfo,
        XEN_DOMCTL_SENDTRIGGER_NMI, XEN_DOMCTL_SENDTRIGGER_RESET, XEN_DOMCTL_SENDTRIGGER_INIT,
        XEN_DOMCTL_SENDTRIGGER_POWER, XEN_DOMCTL_SENDTRIGGER_SLEEP, DPCI_ADD_MAPPING,
        DPCI_REMOVE_MAPPING, XEN_CPUID_INPUT_UNUSED, XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_OFF,
        XEN_DOMCTL_DEBUG_OP_SINGLE_STEP_ON,
        // sysctl.h
        XEN_SYSCTL_INTERFACE_VERSION,
        XEN_SYSCTL_readconsole, XEN_SYSCTL_tbuf_op, XEN_SYSCTL_physinfo, XEN_SYSCTL_sched_id,
        XEN_SYSCTL_perfc_op, XEN_SYSCTL_getdomaininfolist, XEN_SYSCTL_debug_keys,
        XEN_SYSCTL_getcpuinfo, XEN_SYSCTL_availheap, XEN_SYSCTL_get_pmstat,
        XEN_SYSCTL_cpu_hotplug, XEN_SYSCTL_pm_op, XEN_SYSCTL_page_offline_op,
        XEN_SYSCTL_lockprof_op, XEN_SYSCTL_cputopoinfo, XEN_SYSCTL_numainfo,
        XEN_SYSCTL_cpupool_op, XEN_SYSCTL_scheduler_op, XEN_SYSCTL_coverage_op,
        XEN_SYSCTL_psr_cmt_op, XEN_SYSCTL_pcitopoinfo, XEN_SYSCTL_psr_alloc,
        XEN_SYSCTL_get_cpu_levelling_caps, XEN_SYSCTL_get_cpu_featureset,
        XEN_SYSCTL_livepatch_op, XEN_SYSCTL_get_cpu_policy,
        XEN_SYSCTL_TBUFOP_get_info, XEN_SYSCTL_TBUFOP_set_cpu_mask,
        XEN_SYSCTL_TBUFOP_set_evt_mask, XEN_SYSCTL_TBUFOP_set_size, XEN_SYSCTL_TBUFOP_enable,
        XEN_SYSCTL_TBUFOP_disable,
        XEN_SYSCTL_PHYSCAP_hvm, XEN_SYSCTL_PHYSCAP_pv, XEN_SYSCTL_PHYSCAP_directio,
        XEN_SYSCTL_PHYSCAP_hap, XEN_SYSCTL_PHYSCAP_shadow,
        XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share, XEN_SYSCTL_PHYSCAP_vmtrace,
        XEN_SYSCTL_PHYSCAP_vpmu, XEN_SYSCTL_PHYSCAP_gnttab_v1, XEN_SYSCTL_PHYSCAP_gnttab_v2,
        XEN_SYSCTL_PHYSCAP_MAX, XEN_SYSCTL_PERFCOP_reset, XEN_SYSCTL_PERFCOP_query,
        _XEN_SYSCTL_PHYSCAP_hvm, _XEN_SYSCTL_PHYSCAP_pv, _XEN_SYSCTL_PHYSCAP_directio,
        _XEN_SYSCTL_PHYSCAP_hap, _XEN_SYSCTL_PHYSCAP_shadow,
        _XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share,
        XEN_SYSCTL_CPU_HOTPLUG_ONLINE, XEN_SYSCTL_CPU_HOTPLUG_OFFLINE,
        XEN_SYSCTL_CPU_HOTPLUG_SMT_ENABLE, XEN_SYSCTL_CPU_HOTPLUG_SMT_DISABLE,
        XEN_INVALID_CORE_ID, XEN_INVALID_SOCKET_ID, XEN_INVALID_NODE_ID, XEN_INVALID_MEM_SZ,
        XEN_INVALID_NODE_DIST, XEN_INVALID_DEV,
        XEN_SYSCTL_CPUPOOL_OP_CREATE, XEN_SYSCTL_CPUPOOL_OP_DESTROY,
        XEN_SYSCTL_CPUPOOL_OP_INFO, XEN_SYSCTL_CPUPOOL_OP_ADDCPU, XEN_SYSCTL_CPUPOOL_OP_RMCPU,
        XEN_SYSCTL_CPUPOOL_OP_MOVEDOMAIN, XEN_SYSCTL_CPUPOOL_OP_FREEINFO,
        XEN_SYSCTL_CPUPOOL_PAR_ANY, XEN_SYSCTL_SCHED_RATELIMIT_MAX,
        XEN_SYSCTL_SCHED_RATELIMIT_MIN, XEN_SYSCTL_CSCHED_TSLICE_MAX,
        XEN_SYSCTL_CSCHED_TSLICE_MIN, XEN_SYSCTL_CSCHED_MGR_DLY_MAX_US,
        XEN_SYSCTL_SCHEDOP_putinfo, XEN_SYSCTL_SCHEDOP_getinfo,
        XEN_SYSCTL_CPU_LEVELCAP_faulting, XEN_SYSCTL_CPU_LEVELCAP_ecx,
        XEN_SYSCTL_CPU_LEVELCAP_edx, XEN_SYSCTL_CPU_LEVELCAP_extd_ecx,
        XEN_SYSCTL_CPU_LEVELCAP_extd_edx, XEN_SYSCTL_CPU_LEVELCAP_xsave_eax,
        XEN_SYSCTL_CPU_LEVELCAP_thermal_ecx, XEN_SYSCTL_CPU_LEVELCAP_l7s0_eax,
        XEN_SYSCTL_CPU_LEVELCAP_l7s0_ebx, XEN_SYSCTL_cpu_featureset_raw,
        XEN_SYSCTL_cpu_featureset_host, XEN_SYSCTL_cpu_featureset_pv,
        XEN_SYSCTL_cpu_featureset_hvm, XEN_SYSCTL_cpu_featureset_pv_max,
        XEN_SYSCTL_cpu_featureset_hvm_max, XEN_SYSCTL_cpu_policy_raw,
        XEN_SYSCTL_cpu_policy_host, XEN_SYSCTL_cpu_policy_pv_max,
        XEN_SYSCTL_cpu_policy_hvm_max, XEN_SYSCTL_cpu_policy_pv_default,
        XEN_SYSCTL_cpu_policy_hvm_default,
        // elfnote.h
        XEN_ELFNOTE_INFO, XEN_ELFNOTE_ENTRY, XEN_ELFNOTE_HYPERCALL_PAGE, XEN_ELFNOTE_VIRT_BASE,
        XEN_ELFNOTE_PADDR_OFFSET, XEN_ELFNOTE_XEN_VERSION, XEN_ELFNOTE_GUEST_OS,
        XEN_ELFNOTE_GUEST_VERSION, XEN_ELFNOTE_LOADER, XEN_ELFNOTE_PAE_MODE,
        XEN_ELFNOTE_FEATURES, XEN_ELFNOTE_BSD_SYMTAB, XEN_ELFNOTE_HV_START_LOW,
        XEN_ELFNOTE_L1_MFN_VALID, XEN_ELFNOTE_SUSPEND_CANCEL, XEN_ELFNOTE_INIT_P2M,
        XEN_ELFNOTE_MOD_START_PFN, XEN_ELFNOTE_SUPPORTED_FEATURES, XEN_ELFNOTE_PHYS32_ENTRY,
        XEN_ELFNOTE_MAX, XEN_ELFNOTE_CRASH_INFO, XEN_ELFNOTE_CRASH_REGS,
        XEN_ELFNOTE_DUMPCORE_NONE, XEN_ELFNOTE_DUMPCORE_HEADER,
        XEN_ELFNOTE_DUMPCORE_XEN_VERSION, XEN_ELFNOTE_DUMPCORE_FORMAT_VERSION,
        // io/
        XS_CONTROL, XS_DEBUG, XS_DIRECTORY, XS_READ, XS_GET_PERMS, XS_WATCH, XS_UNWATCH,
        XS_TRANSACTION_START, XS_TRANSACTION_END, XS_INTRODUCE, XS_RELEASE,
        XS_GET_DOMAIN_PATH, XS_WRITE, XS_MKDIR, XS_RM, XS_SET_PERMS, XS_WATCH_EVENT, XS_ERROR,
        XS_IS_DOMAIN_INTRODUCED, XS_RESUME, XS_SET_TARGET, XS_RESET_WATCHES,
        XS_DIRECTORY_PART, XS_TYPE_COUNT, XS_INVALID, XS_WATCH_PATH, XS_WATCH_TOKEN,
        XENSTORE_RING_SIZE, XENSTORE_PAYLOAD_MAX, XENSTORE_ABS_PATH_MAX,
        XENSTORE_REL_PATH_MAX, XENSTORE_SERVER_FEATURE_RECONNECTION,
        XENSTORE_SERVER_FEATURE_ERROR, XENSTORE_CONNECTED, XENSTORE_RECONNECT,
        XENSTORE_ERROR_NONE, XENSTORE_ERROR_COMM, XENSTORE_ERROR_RINGIDX,
        XENSTORE_ERROR_PROTO,
        // Linux devices
        IOCTL_PRIVCMD_HYPERCALL, IOCTL_PRIVCMD_MMAP, IOCTL_PRIVCMD_MMAPBATCH,
        IOCTL_PRIVCMD_MMAPBATCH_V2, IOCTL_PRIVCMD_DM_OP, IOCTL_PRIVCMD_RESTRICT,
        IOCTL_PRIVCMD_MMAP_RESOURCE, IOCTL_PRIVCMD_UNIMPLEMENTED,
        PRIVCMD_MMAPBATCH_MFN_ERROR, PRIVCMD_MMAPBATCH_PAGED_ERROR,
        IOCTL_EVTCHN_BIND_VIRQ, IOCTL_EVTCHN_BIND_INTERDOMAIN, IOCTL_EVTCHN_BIND_UNBOUND_PORT,
        IOCTL_EVTCHN_UNBIND, IOCTL_EVTCHN_NOTIFY, IOCTL_EVTCHN_RESET,
        IOCTL_EVTCHN_RESTRICT_DOMID,
        IOCTL_GNTDEV_MAP_GRANT_REF, IOCTL_GNTDEV_UNMAP_GRANT_REF,
        IOCTL_GNTDEV_GET_OFFSET_FOR_VADDR, IOCTL_GNTDEV_SET_MAX_GRANTS,
        IOCTL_GNTDEV_SET_UNMAP_NOTIFY, IOCTL_GNTDEV_GRANT_COPY, UNMAP_NOTIFY_CLEAR_BYTE,
        UNMAP_NOTIFY_SEND_EVENT,
    ]);

    // Function-like macros and enum spellings.
    v.extend(consts_expr![
        (XENMEMF_address_bits(32), "XENMEMF_address_bits(32)"),
        (XENMEMF_get_address_bits(0x1234), "XENMEMF_get_address_bits(0x1234)"),
        (XENMEMF_node(3), "XENMEMF_node(3)"),
        (XENMEMF_get_node(XENMEMF_node(5)), "XENMEMF_get_node(XENMEMF_node(5))"),
        (XENMEMF_get_node(0), "XENMEMF_get_node(0)"),
        (XENMEMF_exact_node(2), "XENMEMF_exact_node(2)"),
        (XENMEM_resource_ioreq_server_frame_ioreq(3), "XENMEM_resource_ioreq_server_frame_ioreq(3)"),
        (xen_domctl_grant_version(2), "XEN_DOMCTL_GRANT_version(2)"),
        (xen_pfn_to_cr3(0x1234), "xen_pfn_to_cr3(0x1234)"),
        (xen_cr3_to_pfn(0x1234_5000), "xen_cr3_to_pfn(0x12345000)"),
        (mask_in_idx(1030) as u64, "MASK_XENCONS_IDX(1030, ((struct xencons_interface *)0)->in)"),
        (mask_out_idx(4100) as u64, "MASK_XENCONS_IDX(4100, ((struct xencons_interface *)0)->out)"),
        (mask_xenstore_idx(1030) as u64, "MASK_XENSTORE_IDX(1030)"),
        (XenbusState::Unknown.raw(), "XenbusStateUnknown"),
        (XenbusState::Initialising.raw(), "XenbusStateInitialising"),
        (XenbusState::InitWait.raw(), "XenbusStateInitWait"),
        (XenbusState::Initialised.raw(), "XenbusStateInitialised"),
        (XenbusState::Connected.raw(), "XenbusStateConnected"),
        (XenbusState::Closing.raw(), "XenbusStateClosing"),
        (XenbusState::Closed.raw(), "XenbusStateClosed"),
        (XenbusState::Reconfiguring.raw(), "XenbusStateReconfiguring"),
        (XenbusState::Reconfigured.raw(), "XenbusStateReconfigured"),
        (XsdSockmsg::SIZE, "sizeof(struct xsd_sockmsg)"),
        (XENCONS_IN_SIZE, "sizeof(((struct xencons_interface *)0)->in)"),
        (XENCONS_OUT_SIZE, "sizeof(((struct xencons_interface *)0)->out)"),
        (VCPU_TRAP_CTXT_ENTRIES, "sizeof(((struct vcpu_guest_context *)0)->trap_ctxt) / sizeof(struct trap_info)"),
    ]);
    v
}

/// C that prints the string tables (`xsd_errors`, `GNTTABOP_error_msgs`,
/// the `XS_WRITE_*` modes).
const STRING_TABLES_C: &str = r#"
  for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
    printf("X|%zu|%d|%s\n", i, xsd_errors[i].errnum, xsd_errors[i].errstring);
  {
    static const char *gnt_msgs[] = GNTTABOP_error_msgs;
    for (size_t i = 0; i < sizeof(gnt_msgs) / sizeof(gnt_msgs[0]); i++)
      printf("G|%zu|%s\n", i, gnt_msgs[i]);
  }
  printf("W|XS_WRITE_NONE|%s\n", XS_WRITE_NONE);
  printf("W|XS_WRITE_CREATE|%s\n", XS_WRITE_CREATE);
  printf("W|XS_WRITE_CREATE_EXCL|%s\n", XS_WRITE_CREATE_EXCL);
"#;

fn string_table_errors(output: &str) -> (Vec<String>, usize) {
    let mut errors = Vec::new();
    let mut xsd = Vec::new();
    let mut gnt = Vec::new();
    let mut writes = Vec::new();
    for line in output.lines() {
        // The last field may itself contain '|' ("CREATE|EXCL").
        let kind = line.split('|').next().unwrap_or("");
        let width = match kind {
            "X" => 4,
            "G" | "W" => 3,
            _ => continue,
        };
        let parts: Vec<&str> = line.splitn(width, '|').collect();
        match kind {
            "X" => xsd.push((parts[2].parse::<i32>().unwrap(), parts[3].to_string())),
            "G" => gnt.push(parts[2].to_string()),
            _ => writes.push((parts[1].to_string(), parts[2].to_string())),
        }
    }
    if xsd.len() != XSD_ERRORS.len() {
        errors.push(format!("xsd_errors: C has {} entries, Rust {}", xsd.len(), XSD_ERRORS.len()));
    }
    for (i, (e, (cnum, cname))) in XSD_ERRORS.iter().zip(&xsd).enumerate() {
        if e.errnum.raw() != *cnum || e.errstring != cname {
            errors.push(format!(
                "xsd_errors[{i}]: Rust ({}, {}) != C ({cnum}, {cname})",
                e.errnum.raw(),
                e.errstring
            ));
        }
    }
    if gnt.len() != GNTTABOP_error_msgs.len() {
        errors.push(format!("GNTTABOP_error_msgs: C has {} entries", gnt.len()));
    }
    for (i, (r, c)) in GNTTABOP_error_msgs.iter().zip(&gnt).enumerate() {
        if r != c {
            errors.push(format!("GNTTABOP_error_msgs[{i}]: Rust {r:?} != C {c:?}"));
        }
    }
    for (name, c) in &writes {
        let r = match name.as_str() {
            "XS_WRITE_NONE" => XS_WRITE_NONE,
            "XS_WRITE_CREATE" => XS_WRITE_CREATE,
            _ => XS_WRITE_CREATE_EXCL,
        };
        if r != c {
            errors.push(format!("{name}: Rust {r:?} != C {c:?}"));
        }
    }
    (errors, xsd.len() + gnt.len() + writes.len())
}

#[test]
fn layout_matches_xen_4_17_headers() {
    support::ensure_headers();
    let structs = struct_table();
    let consts = const_table();
    let output = support::run_probe(&structs, &consts, STRING_TABLES_C);
    let (mut errors, (n_structs, n_fields, n_consts)) = support::compare(&structs, &consts, &output);
    let (string_errors, n_strings) = string_table_errors(&output);
    errors.extend(string_errors);
    println!(
        "checked {n_structs} structs/unions, {n_fields} fields, {n_consts} constants, \
         {n_strings} table strings against /usr/include/xen"
    );
    assert!(errors.is_empty(), "{} ABI mismatches:\n  {}", errors.len(), errors.join("\n  "));
}

/// Types with no C definition in Xen's headers: sizes from the formats
/// they describe.
#[test]
fn layouts_without_a_c_header() {
    use std::mem::size_of;
    // The BIOS e820 record returned by XENMEM_memory_map: packed, 20 bytes.
    assert_eq!(size_of::<E820Entry>(), 20);
    assert_eq!(core::mem::offset_of!(E820Entry, r#type), 16);
    // Typed frame numbers and ids are transparent over their raw integers.
    assert_eq!(size_of::<Mfn>(), 8);
    assert_eq!(size_of::<Pfn>(), 8);
    assert_eq!(size_of::<Gfn>(), 8);
    assert_eq!(size_of::<GuestHandle<VcpuGuestContext>>(), 8);
    assert_eq!(size_of::<DomId>(), 2);
}
