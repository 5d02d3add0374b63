//! Start of day on the boot CPU: from the multiboot2 hand-off to a running
//! system (console, memory, page tables, descriptor tables, ACPI, APIC
//! timer, application processors), then the boot summary.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use multiboot2::{BootInformation, BootInformationHeader, MemoryAreaType};
use x86_64::registers::model_specific::{Efer, EferFlags};

use crate::arch::x86_64::{self as arch, acpi, apic, cpu, gdt, idt, paging, pic, power, smp};
use crate::cmdline::{self, BootOptions, OptionWarning};
use crate::console;
use crate::mm::frame_alloc::FrameAllocator;
use crate::mm::memmap::{usable_frames, Range, RangeSet};
use crate::mm::{self, align_up, PAGE_SHIFT, PAGE_SIZE};
use crate::printk;
use crate::version;

const MULTIBOOT2_BOOTLOADER_MAGIC: u32 = 0x36d7_6289;

static NOREBOOT: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
static COMMAND_LINE: spin::Once<String> = spin::Once::new();

/// Whether `noreboot` was given.
pub fn noreboot() -> bool {
    NOREBOOT.load(Ordering::Relaxed)
}

/// The hypervisor command line (after boot).
pub fn command_line() -> &'static str {
    COMMAND_LINE.get().map_or("", String::as_str)
}
/// Pages given to the heap at boot (4 MiB).
const HEAP_PAGES: u64 = 1024;
/// Most warnings kept from the command line before the console exists.
const MAX_EARLY_WARNINGS: usize = 16;

/// A boot module (dom0 kernel, initrd) as the loader placed it.
#[derive(Clone, Debug)]
pub struct BootModule {
    /// Machine address of the first byte.
    pub start: u64,
    /// Size in bytes.
    pub size: u64,
    /// The module's command line (GRUB passes what follows the path).
    pub cmdline: String,
}

/// What the first stage hands to the boot CPU's main path.
struct BootContext {
    opts: BootOptions,
    cmdline: String,
    ram: RangeSet,
    modules: Vec<BootModule>,
    acpi_root: Option<acpi::RootTable>,
    hv_cr3: u64,
    nx: bool,
}

/// Entry from the boot assembly, on the boot stack and boot page tables.
#[unsafe(no_mangle)]
extern "C" fn hv_start(magic: u32, mbi_maddr: u64) -> ! {
    if magic != MULTIBOOT2_BOOTLOADER_MAGIC {
        arch::halt_forever();
    }
    // SAFETY: the loader passed a valid MBI at this address; it is reserved
    // from the frame allocator below and reached through the direct map.
    let mbi = match unsafe {
        BootInformation::load(paging::maddr_to_virt(mbi_maddr) as *const BootInformationHeader)
    } {
        Ok(m) => m,
        Err(_) => arch::halt_forever(),
    };
    let line = mbi.command_line_tag().and_then(|t| t.cmdline().ok()).unwrap_or("");
    let mut warnings: [Option<OptionWarning<'_>>; MAX_EARLY_WARNINGS] = [None; MAX_EARLY_WARNINGS];
    let mut nwarn = 0;
    let opts = cmdline::parse(line, |w| {
        if let Some(slot) = warnings.get_mut(nwarn) {
            *slot = Some(w);
        }
        nwarn += 1;
    });

    arch::fpu::init_this_cpu();
    let xsave = arch::xstate::init_this_cpu();
    init_console(&opts);
    printk!("{} {} ({})\n", version::NAME, version::VERSION, version::XEN_ABI);
    printk!("Command line: {}\n", cmdline::strip_image_path(line));
    for w in warnings.iter().flatten() {
        log::warn!("{w}");
    }
    if nwarn > MAX_EARLY_WARNINGS {
        log::warn!("{} more command line warnings not shown", nwarn - MAX_EARLY_WARNINGS);
    }
    if xsave {
        log::info!("XSAVE: on, XCR0 components supported {:#x}", arch::xstate::host_xcr0());
    }

    let ram = ram_map(&mbi);
    let modules: EarlyVec<(u64, u64, &str)> = mbi
        .module_tags()
        .map(|m| {
            let start = u64::from(m.start_address());
            (start, u64::from(m.end_address()) - start, m.cmdline().unwrap_or(""))
        })
        .collect_early();
    let mut reserved = [Range::new(0, 0); 2 + MAX_MODULES];
    reserved[0] = image_phys_range();
    reserved[1] = Range::new(mbi_maddr, mbi.total_size() as u64);
    for (slot, m) in reserved[2..].iter_mut().zip(modules.iter()) {
        *slot = Range::new(m.0, m.1);
    }
    let mut usable = match usable_frames(&ram, &reserved) {
        Ok(u) => u,
        Err(_) => fatal_boot("memory map has too many entries"),
    };
    init_frames(&mut usable);
    init_heap();
    // The local APIC and IOAPIC pages are the hypervisor's devices.
    if !mm::frame_table::init(&ram, alloc::vec![0xfee00, 0xfec00]) {
        fatal_boot("no memory for the frame table");
    }

    let acpi_root = if let Some(t) = mbi.rsdp_v2_tag() {
        Some(acpi::RootTable::Xsdt(t.xsdt_address() as u64))
    } else {
        mbi.rsdp_v1_tag().map(|t| acpi::RootTable::Rsdt(u64::from(t.rsdt_address() as u32)))
    };
    let nx = Efer::read().contains(EferFlags::NO_EXECUTE_ENABLE);
    let m2p_entries = ram.end() >> PAGE_SHIFT;
    let m2p_pages = (m2p_entries * 8).div_ceil(PAGE_SIZE);
    let Some(m2p_mfn) = mm::alloc_frames(m2p_pages, 1) else {
        fatal_boot("no memory for the machine-to-phys table");
    };
    // SAFETY: freshly allocated, hypervisor-owned frames.
    unsafe { mm::m2p::init(paging::maddr_to_virt(m2p_mfn << PAGE_SHIFT), m2p_entries) };
    let hv_cr3 = match paging::build_hypervisor_tables(
        || mm::alloc_frame().map(|m| m << PAGE_SHIFT),
        &ram,
        nx,
        m2p_mfn << PAGE_SHIFT,
        m2p_pages,
    ) {
        Ok(c) => c,
        Err(_) => fatal_boot("out of memory building the hypervisor page tables"),
    };
    let ctx = Box::new(BootContext {
        opts,
        cmdline: String::from(cmdline::strip_image_path(line)),
        ram,
        modules: modules
            .iter()
            .map(|&(start, size, c)| BootModule { start, size, cmdline: String::from(c) })
            .collect(),
        acpi_root,
        hv_cr3,
        nx,
    });
    // SAFETY: the new tables map the image, the direct map (which holds the
    // boot stack's image mapping too) and everything allocated so far.
    unsafe { paging::load_cr3(hv_cr3) };

    let block = match mm::alloc_frames(cpu::STACK_PAGES, cpu::STACK_PAGES) {
        Some(m) => paging::maddr_to_virt(m << PAGE_SHIFT),
        None => fatal_boot("no memory for the boot CPU's stacks"),
    };
    // SAFETY: freshly allocated block, owned by the boot CPU.
    unsafe { cpu::init_cpu_info(block, 0, 0) };
    let ctx = Box::into_raw(ctx);
    // SAFETY: switch to the boot CPU's stack block and never come back;
    // `ctx` is a leaked heap pointer valid for the callee.
    unsafe {
        core::arch::asm!(
            "mov rsp, {top}",
            "xor ebp, ebp",
            "call {main}",
            top = in(reg) cpu::primary_stack_top(block),
            main = sym bsp_main,
            in("rdi") ctx,
            in("rsi") block,
            options(noreturn),
        )
    }
}

const MAX_MODULES: usize = 8;

/// Collect into a fixed-size vector before the heap exists.
trait CollectEarly<T> {
    fn collect_early(self) -> EarlyVec<T>;
}

/// A tiny fixed-capacity vector for the first stage.
struct EarlyVec<T> {
    items: [Option<T>; MAX_MODULES],
    len: usize,
}

impl<T: Copy> EarlyVec<T> {
    fn iter(&self) -> impl Iterator<Item = &T> {
        self.items[..self.len].iter().flatten()
    }
}

impl<T: Copy, I: Iterator<Item = T>> CollectEarly<T> for I {
    fn collect_early(self) -> EarlyVec<T> {
        let mut v = EarlyVec { items: [None; MAX_MODULES], len: 0 };
        for item in self {
            if v.len == MAX_MODULES {
                log::warn!("more than {MAX_MODULES} boot modules: the rest are ignored");
                break;
            }
            v.items[v.len] = Some(item);
            v.len += 1;
        }
        v
    }
}

fn init_console(opts: &BootOptions) {
    let serial = opts.console.com1 && console::serial::init(opts.com1_baud);
    console::set_serial(serial);
    console::init_logger(opts.loglvl.to_filter());
}

/// The machine memory map as the boot loader gave it (start, size, e820
/// type), for `XENMEM_machine_memory_map`.
pub static HOST_E820: crate::sync::Mutex<[(u64, u64, u32); 64]> = crate::sync::Mutex::new([(0, 0, 0); 64]);

fn ram_map(mbi: &BootInformation<'_>) -> RangeSet {
    let mut ram = RangeSet::new();
    let Some(mmap) = mbi.memory_map_tag() else {
        fatal_boot("the boot loader gave no memory map");
    };
    let mut e820 = HOST_E820.lock();
    for (slot, area) in e820.iter_mut().zip(mmap.memory_areas()) {
        *slot = (area.start_address(), area.size(), u32::from(area.typ()));
    }
    drop(e820);
    for area in mmap.memory_areas() {
        if area.typ() == MemoryAreaType::Available
            && ram.insert(Range::new(area.start_address(), area.size())).is_err()
        {
            log::warn!("memory map too large: ignoring RAM at {:#x}", area.start_address());
        }
    }
    ram
}

fn image_phys_range() -> Range {
    unsafe extern "C" {
        static __image_phys_start: u8;
        static __image_phys_end: u8;
    }
    Range { start: &raw const __image_phys_start as u64, end: &raw const __image_phys_end as u64 }
}

/// Place the allocator bitmap in the first usable range large enough, then
/// build the allocator over what is left.
fn init_frames(usable: &mut RangeSet) {
    let words = FrameAllocator::words_for(usable.end());
    let bytes = align_up(words as u64 * 8, PAGE_SIZE);
    let Some(home) = usable.as_slice().iter().find(|r| r.len() >= bytes).copied() else {
        fatal_boot("no room for the frame allocator bitmap");
    };
    let bitmap_range = Range::new(home.start, bytes);
    if usable.remove(bitmap_range).is_err() {
        fatal_boot("memory map has too many entries");
    }
    // SAFETY: the range is usable RAM below 4 GiB (covered by the boot
    // direct map), now removed from the usable set so nothing else uses it.
    let bits = unsafe {
        core::slice::from_raw_parts_mut(paging::maddr_to_virt(home.start) as *mut u64, words)
    };
    match FrameAllocator::new(bits, usable) {
        Ok(a) => *mm::FRAMES.lock() = Some(a),
        Err(_) => fatal_boot("frame allocator bitmap too small"),
    }
}

fn init_heap() {
    let Some(m) = mm::alloc_frames(HEAP_PAGES, 1) else {
        fatal_boot("no memory for the hypervisor heap");
    };
    // SAFETY: freshly allocated frames, never handed out again.
    unsafe { crate::heap::init(paging::maddr_to_virt(m << PAGE_SHIFT), (HEAP_PAGES * PAGE_SIZE) as usize) };
}

fn fatal_boot(why: &str) -> ! {
    log::error!("cannot boot: {why}");
    arch::halt_forever()
}

/// The boot CPU's main path, on its own stack block and final tables.
extern "C" fn bsp_main(ctx: *mut BootContext, block: u64) -> ! {
    // SAFETY: `hv_start` leaked this box for us.
    let ctx = unsafe { Box::from_raw(ctx) };
    NOREBOOT.store(ctx.opts.noreboot, Ordering::Relaxed);
    COMMAND_LINE.call_once(|| ctx.cmdline.clone());
    gdt::load_for_cpu(0, block);
    idt::load();
    arch::syscall::init_this_cpu(0, block);
    if arch::fpu::self_test() {
        log::info!("FPU/SSE state survives console formatting");
    } else {
        log::error!("FPU/SSE state NOT preserved across console formatting");
    }

    let platform = match ctx.acpi_root {
        Some(root) => acpi::parse(root).unwrap_or_else(|e| {
            log::warn!("ACPI tables unreadable ({:?}): single CPU, no power-off", e.0);
            acpi::Platform::default()
        }),
        None => {
            log::warn!("no ACPI RSDP from the boot loader: single CPU, no power-off");
            acpi::Platform::default()
        }
    };
    power::init(power::PowerInfo { pm1a_cnt: platform.pm1a_cnt, pm1b_cnt: platform.pm1b_cnt, s5: platform.s5 });
    for io in &platform.ioapics {
        log::info!("IOAPIC[{}]: address {:#x}, GSI base {}", io.id, io.address, io.gsi_base);
    }
    arch::ioapic::init(
        platform
            .ioapics
            .iter()
            .map(|io| arch::ioapic::IoApic { base: u64::from(io.address), gsi_base: io.gsi_base })
            .collect(),
    );

    pic::disable();
    let x2 = apic::cpu_has_x2apic();
    apic::enable_this_cpu(x2);
    let bsp_apic = apic::id();
    // SAFETY: rewrite our own CpuInfo now that the APIC ID is known.
    unsafe { cpu::init_cpu_info(block, 0, bsp_apic) };
    cpu::mark_online();
    let cal = apic::calibrate();
    log::info!(
        "Local APIC: {} mode, ID {bsp_apic}; TSC {}.{:03} MHz, APIC timer {} ticks/ms",
        if x2 { "x2APIC" } else { "xAPIC" },
        cal.tsc_khz / 1000,
        cal.tsc_khz % 1000,
        cal.apic_ticks_per_ms
    );
    check_timer();
    crate::timer::init(cal.tsc_khz);
    let faulting = arch::cpuid_fault::enable_this_cpu();
    log::info!("CPUID faulting: {}", if faulting { "on (guests see the PV CPUID policy)" } else { "not available" });
    // The hypervisor keeps the timer's and the serial console's IRQs.
    let reserved = [platform.isa_gsi(0).0, platform.isa_gsi(4).0];
    crate::irq::init(|irq| platform.isa_gsi(irq), &reserved, bsp_apic);
    if !crate::console::input::init(|irq| platform.isa_gsi(irq), bsp_apic) {
        log::warn!("no IO-APIC pin for COM1: serial input is polled only");
    }
    start_aps(&ctx, &platform, bsp_apic);
    summary(&ctx, &platform);

    if ctx.opts.debug_fault == Some(cmdline::DebugFault::PageFault) {
        log::warn!("debug_fault=pagefault: reading an unmapped hypervisor address");
        // SAFETY: deliberately not safe: this read faults, to exercise the
        // fatal exception path (test aid enabled only from the command line).
        unsafe { core::ptr::read_volatile(0xffff_8100_0000_0000 as *const u64) };
    }

    let Some(kernel) = ctx.modules.first() else {
        printk!("No dom0 kernel was given (no multiboot2 module): nothing to run. Powering off.\n");
        power::power_off()
    };
    start_dom0(&ctx, kernel)
}

/// Build dom0 from module 0 (and module 1 as its initrd) and run it.
fn start_dom0(ctx: &BootContext, kernel: &BootModule) -> ! {
    let bytes = |m: &BootModule| {
        // SAFETY: modules are reserved from the allocator and reached through
        // the direct map; nothing writes them.
        unsafe { core::slice::from_raw_parts(paging::maddr_to_virt(m.start) as *const u8, m.size as usize) }
    };
    let initrd = ctx.modules.get(1).map(bytes);
    match crate::domain::dom0_build::build(bytes(kernel), initrd, &kernel.cmdline, &ctx.opts.dom0_mem, ctx.opts.dom0_max_vcpus) {
        Ok(d) => {
            printk!("Starting dom0 ({} pages)\n", d.domain.tot_pages.load(Ordering::Relaxed));
            crate::pv::run(d.vcpu, &d.frame)
        }
        Err(e) => {
            printk!("dom0 kernel refused: {e}. Powering off.\n");
            power::power_off()
        }
    }
}

/// Prove the APIC timer interrupts: three periodic ticks of 10 ms.
fn check_timer() {
    let me = cpu::this_cpu();
    let t0 = arch::rdtsc();
    apic::timer_start_periodic(10);
    while me.timer_ticks.load(Ordering::Relaxed) < 3 && apic::ms_since(t0) < 1000 {
        // SAFETY: enable interrupts only for the halt; the handler runs on
        // its IST stack.
        unsafe { core::arch::asm!("sti; hlt; cli", options(nomem, nostack)) };
    }
    apic::timer_stop();
    let ticks = me.timer_ticks.load(Ordering::Relaxed);
    if ticks >= 3 {
        log::info!("APIC timer: {ticks} interrupts in {} ms", apic::ms_since(t0));
    } else {
        log::error!("APIC timer: only {ticks} interrupts in 1 s");
    }
}

fn start_aps(ctx: &BootContext, platform: &acpi::Platform, bsp_apic: u32) {
    smp::install_trampoline(ctx.hv_cr3, ctx.nx);
    let bsp_acpi = platform.cpus.iter().find(|c| c.apic_id == bsp_apic).map_or(0, |c| c.acpi_id);
    let mut pcpus = alloc::vec![cpu::Pcpu { apic_id: bsp_apic, acpi_id: bsp_acpi, online: true }];
    let mut next_id = 1;
    for c in platform.cpus.iter().filter(|c| c.apic_id != bsp_apic) {
        let Some(m) = mm::alloc_frames(cpu::STACK_PAGES, cpu::STACK_PAGES) else {
            log::error!("no memory for CPU with APIC ID {}", c.apic_id);
            break;
        };
        let ap = smp::ApStart { cpu_id: next_id, apic_id: c.apic_id, block_va: paging::maddr_to_virt(m << PAGE_SHIFT) };
        match smp::start_ap(&ap) {
            Ok(()) => {
                log::info!("CPU{} (APIC ID {}) online", ap.cpu_id, ap.apic_id);
                next_id += 1;
                pcpus.push(cpu::Pcpu { apic_id: c.apic_id, acpi_id: c.acpi_id, online: true });
            }
            Err(e) => log::error!("CPU with APIC ID {} did not start: {e:?}", c.apic_id),
        }
    }
    cpu::register_pcpus(pcpus);
}

fn mib(bytes: u64) -> u64 {
    bytes >> 20
}

fn summary(ctx: &BootContext, platform: &acpi::Platform) {
    let frames = mm::FRAMES.lock();
    let (free, _) = frames.as_ref().map_or((0, 0), |f| (f.free_frames(), f.total_frames()));
    drop(frames);
    printk!("Boot summary:\n");
    printk!("  version: {} {} ({})\n", version::NAME, version::VERSION, version::XEN_ABI);
    printk!("  command line: {}\n", ctx.cmdline);
    printk!(
        "  RAM: total {} MiB ({} KiB), usable {} MiB\n",
        mib(ctx.ram.total()),
        ctx.ram.total() >> 10,
        mib(free * PAGE_SIZE)
    );
    printk!(
        "  CPUs online: {} (of {} in ACPI)\n",
        cpu::CPUS_ONLINE.load(Ordering::SeqCst),
        platform.cpus.len().max(1)
    );
    printk!("  dom0_mem: {}\n", ctx.opts.dom0_mem);
    printk!("  modules: {}\n", ctx.modules.len());
    for (i, m) in ctx.modules.iter().enumerate() {
        printk!("  module {i}: {} bytes at {:#x}, command line \"{}\"\n", m.size, m.start, m.cmdline);
    }
}
