//! The builder against the fake hypervisor: a synthetic PV kernel built,
//! its memory, page tables, start_info and vCPU context checked, and every
//! failure half-way shown to destroy the domain and free its memory.

use dom0_abi::arch_x86::{xen_cr3_to_pfn, FLAT_KERNEL_CS64, FLAT_KERNEL_SS64, VGCF_in_kernel, VGCF_online};
use dom0_abi::domctl::XEN_DOMINF_paused;
use dom0_abi::xen::{StartInfo, SIF_MOD_START_PFN};
use dom0_abi::{DomId, Errno, Pod};

use super::layout::{DomULayout, DomULayoutRequest, PAGE};
use super::pagetables::{table_index, LEAF_FLAGS, LEAF_RO_FLAGS, PTE_ADDR, PTE_P};
use super::*;
use crate::config::parse_str;
use crate::hypervisor::fake::FakeHypervisor;

const VIRT_BASE: u64 = 0xffff_ffff_8000_0000;
const INIT_P2M_BASE: u64 = 0x80_0000_0000;

/// A Xen note for the synthetic kernel.
fn note(kind: u32, desc: &[u8]) -> Vec<u8> {
    let mut n = Vec::new();
    n.extend_from_slice(&4u32.to_le_bytes());
    n.extend_from_slice(&(desc.len() as u32).to_le_bytes());
    n.extend_from_slice(&kind.to_le_bytes());
    n.extend_from_slice(b"Xen\0");
    n.extend_from_slice(desc);
    while n.len() % 4 != 0 {
        n.push(0);
    }
    n
}

fn str_note(kind: u32, s: &str) -> Vec<u8> {
    note(kind, format!("{s}\0").as_bytes())
}

/// Kernel bytes at file offset `o` (0x1000..0x3000): a recognisable pattern.
fn pattern(o: usize) -> u8 {
    (o * 7 % 251) as u8 + 1
}

/// A tiny PV kernel: one PT_LOAD at paddr 0x1000 (file 0x2000 bytes,
/// memory 0x3000: the last page is bss), entry at its start, hypercall
/// page at +0x1000, and `extra` notes.
fn kernel(extra: &[Vec<u8>]) -> Vec<u8> {
    let mut notes = [
        str_note(6, "test"),
        str_note(5, "xen-3.0"),
        str_note(8, "generic"),
        note(3, &VIRT_BASE.to_le_bytes()),
        note(4, &0u64.to_le_bytes()),
        note(1, &(VIRT_BASE + 0x1000).to_le_bytes()),
        note(2, &(VIRT_BASE + 0x2000).to_le_bytes()),
    ]
    .concat();
    for n in extra {
        notes.extend_from_slice(n);
    }
    let mut f = vec![0u8; 0x3000];
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = 2; // 64-bit
    f[5] = 1; // little-endian
    f[6] = 1; // version
    f[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    f[18..20].copy_from_slice(&62u16.to_le_bytes()); // x86-64
    f[20..24].copy_from_slice(&1u32.to_le_bytes());
    f[24..32].copy_from_slice(&(VIRT_BASE + 0x1000).to_le_bytes());
    f[32..40].copy_from_slice(&64u64.to_le_bytes()); // phoff
    f[52..54].copy_from_slice(&64u16.to_le_bytes());
    f[54..56].copy_from_slice(&56u16.to_le_bytes());
    f[56..58].copy_from_slice(&2u16.to_le_bytes());
    let ph = |f: &mut Vec<u8>, at: usize, ty: u32, off: u64, paddr: u64, filesz: u64, memsz: u64| {
        f[at..at + 4].copy_from_slice(&ty.to_le_bytes());
        f[at + 4..at + 8].copy_from_slice(&7u32.to_le_bytes());
        f[at + 8..at + 16].copy_from_slice(&off.to_le_bytes());
        f[at + 16..at + 24].copy_from_slice(&(VIRT_BASE + paddr).to_le_bytes());
        f[at + 24..at + 32].copy_from_slice(&paddr.to_le_bytes());
        f[at + 32..at + 40].copy_from_slice(&filesz.to_le_bytes());
        f[at + 40..at + 48].copy_from_slice(&memsz.to_le_bytes());
    };
    let note_off = 64 + 2 * 56;
    ph(&mut f, 64, 1, 0x1000, 0x1000, 0x2000, 0x3000);
    ph(&mut f, 120, 4, note_off as u64, 0, notes.len() as u64, notes.len() as u64);
    f[note_off..note_off + notes.len()].copy_from_slice(&notes);
    for (o, b) in f.iter_mut().enumerate().skip(0x1000) {
        *b = pattern(o);
    }
    f
}

fn config(extra: &str) -> DomainConfig {
    let text = format!(
        "name = \"guest\"\nkernel = \"/boot/test-kernel\"\nmemory = 32\nvcpus = 2\nroot = \"/dev/xvda1 ro\"\nextra = \"console=hvc0\"\n{extra}"
    );
    parse_str(&text, "guest.cfg", &[]).unwrap().0
}

fn images(kernel: Vec<u8>, ramdisk: Option<Vec<u8>>) -> Images {
    Images { kernel_path: "/boot/test-kernel".into(), kernel, ramdisk }
}

/// A fake with 64 MiB free.
fn fake() -> FakeHypervisor {
    let hv = FakeHypervisor::new();
    hv.state.borrow_mut().physinfo.free_pages = 16384;
    hv
}

/// Guest page `pfn` of `dom`, as the fake holds it.
fn page(hv: &FakeHypervisor, dom: DomId, pfn: u64) -> Vec<u8> {
    let st = hv.state.borrow();
    let mfn = st.domain(dom).unwrap().p2m[&pfn];
    st.frame(mfn).unwrap().to_vec()
}

fn u64_at(p: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(p[i * 8..i * 8 + 8].try_into().unwrap())
}

/// Walk the guest's page tables from machine frame `l4` to the leaf entry
/// of `va`, reading tables from the fake's frames.
fn walk(hv: &FakeHypervisor, l4: u64, va: u64) -> Option<u64> {
    let st = hv.state.borrow();
    let mut t = l4;
    for level in (1..=4).rev() {
        let e = u64_at(st.frame(t).unwrap(), table_index(va, level));
        if e & PTE_P == 0 {
            return None;
        }
        if level == 1 {
            return Some(e);
        }
        t = (e & PTE_ADDR) / PAGE;
    }
    unreachable!()
}

fn layout_for(k: &[u8], nr_pages: u64, initrd_len: u64) -> DomULayout {
    let k = pvboot::parse(k).unwrap();
    DomULayout::compute(&DomULayoutRequest {
        virt_base: VIRT_BASE,
        virt_kend: k.virt_kend,
        nr_pages,
        initrd_len,
        unmapped_initrd: k.notes.mod_start_pfn,
        init_p2m: k.notes.init_p2m,
    })
    .unwrap()
}

fn start_info(hv: &FakeHypervisor, dom: DomId, l: &DomULayout) -> StartInfo {
    StartInfo::read_from(&page(hv, dom, l.pfn_of(l.vstartinfo))).unwrap()
}

#[test]
fn builds_a_small_kernel() {
    let hv = fake();
    let cfg = config("");
    let rd: Vec<u8> = (0..5000u32).map(|i| (i % 200) as u8 + 3).collect();
    let k = kernel(&[]);
    let built = build(&hv, &cfg, &images(k.clone(), Some(rd.clone())), &NoNames).unwrap();
    let dom = built.domid;
    assert_eq!(dom, DomId(1), "the lowest free id");
    let l = layout_for(&k, 8192, rd.len() as u64);

    let st = hv.state.borrow();
    let d = st.domain(dom).unwrap();
    assert_ne!(d.info.flags & XEN_DOMINF_paused, 0, "built domains stay paused");
    assert_eq!(d.info.tot_pages, 8192);
    assert_eq!(d.info.max_pages, (32 * 1024 + MAXMEM_SLACK_KIB) / 4);
    assert_eq!(d.max_vcpus, 2);
    assert_eq!(st.physinfo.free_pages, 16384 - 8192);
    let populates = st.calls.iter().filter(|c| c.starts_with("populate_physmap dom 1 n 1024")).count();
    assert_eq!(populates, 8, "in batches of {POPULATE_BATCH}");
    let p2m: Vec<u64> = (0..8192).map(|pfn| d.p2m[&pfn]).collect();
    drop(st);

    // Kernel: file bytes, the hypercall page from Xen, bss zero.
    let p1 = page(&hv, dom, 1);
    assert!(p1.iter().enumerate().all(|(i, &b)| b == pattern(0x1000 + i)));
    let p2 = page(&hv, dom, 2);
    assert_eq!(&p2[..8], &[0x51, 0x41, 0x53, 0xb8, 0, 0, 0, 0], "hypercall stubs via hypercall_init");
    assert_eq!(hv.state.borrow().domain(dom).unwrap().hypercall_page, Some(p2m[2]));
    assert!(page(&hv, dom, 3).iter().all(|&b| b == 0), "bss");
    // Ramdisk mapped right after the kernel.
    assert_eq!(l.vinitrd_start, VIRT_BASE + 0x4000);
    let mut got = page(&hv, dom, 4);
    got.extend(page(&hv, dom, 5));
    assert_eq!(&got[..rd.len()], &rd[..]);
    // The p2m list.
    for i in 0..8192u64 {
        let off = l.paddr_of(l.vphysmap_start) + i * 8;
        let p = page(&hv, dom, off / PAGE);
        assert_eq!(u64_at(&p, (off % PAGE / 8) as usize), p2m[i as usize]);
    }

    // vCPU 0.
    let st = hv.state.borrow();
    let d = st.domain(dom).unwrap();
    let ctx = d.vcpu_contexts[&0].as_ref();
    assert_eq!(ctx.flags, VGCF_in_kernel | VGCF_online);
    assert_eq!(ctx.user_regs.rip, VIRT_BASE + 0x1000);
    assert_eq!(ctx.user_regs.rsp, l.vstack + PAGE);
    assert_eq!(ctx.user_regs.rsi, l.vstartinfo);
    assert_eq!(ctx.user_regs.rflags, 1 << 9);
    assert_eq!((ctx.user_regs.cs, ctx.user_regs.ss), (FLAT_KERNEL_CS64, FLAT_KERNEL_SS64));
    assert_eq!((ctx.kernel_ss, ctx.kernel_sp), (u64::from(FLAT_KERNEL_SS64), l.vstack + PAGE));
    let l4_mfn = xen_cr3_to_pfn(ctx.ctrlreg[3]);
    assert_eq!(l4_mfn, p2m[l.pfn_of(l.vpt_start) as usize]);
    assert_eq!(d.pinned_l4, vec![l4_mfn], "the L4 is pinned for the domain");
    // Event channels: two, unbound, for dom0.
    assert_eq!(d.evtchns, vec![(built.store_evtchn, DomId(0)), (built.console_evtchn, DomId(0))]);
    // Every vCPU's upcalls masked in shared info.
    let shared = st.frame(d.info.shared_info_frame).unwrap();
    assert!((0..32).all(|i| shared[i * 64 + 1] == 1));
    let shared_info_frame = d.info.shared_info_frame;
    drop(st);

    // Page tables: the whole area mapped, the tables read-only.
    for va in (l.v_start..l.v_end).step_by(PAGE as usize) {
        let e = walk(&hv, l4_mfn, va).unwrap();
        assert_eq!((e & PTE_ADDR) / PAGE, p2m[l.pfn_of(va) as usize], "{va:#x}");
        let is_pt = (l.vpt_start..l.vpt_start + l.nr_pt_pages * PAGE).contains(&va);
        assert_eq!(e & !PTE_ADDR, if is_pt { LEAF_RO_FLAGS } else { LEAF_FLAGS });
    }
    assert_eq!(walk(&hv, l4_mfn, l.v_end), None);

    // start_info.
    let si = start_info(&hv, dom, &l);
    assert_eq!(&si.magic[..15], b"xen-3.0-x86_64\0");
    assert_eq!(si.nr_pages, 8192);
    assert_eq!(si.shared_info, shared_info_frame * PAGE);
    assert_eq!(si.flags, 0, "not privileged, initrd by address");
    assert_eq!((si.store_mfn, si.store_evtchn), (built.store_mfn, built.store_evtchn));
    assert_eq!(built.store_mfn, p2m[l.pfn_of(l.vstartinfo) as usize + 1], "xenstore page after start_info");
    // SAFETY: the domU member of the console union, plain old data.
    let console = unsafe { si.console.domU };
    assert_eq!((console.mfn, console.evtchn), (built.console_mfn, built.console_evtchn));
    assert_eq!(built.console_mfn, p2m[l.pfn_of(l.vstartinfo) as usize + 2], "then the console page");
    assert_eq!((si.pt_base, si.nr_pt_frames), (l.vpt_start, l.nr_pt_pages));
    assert_eq!(si.mfn_list, l.vphysmap_start);
    assert_eq!((si.first_p2m_pfn, si.nr_p2m_frames), (l.pfn_of(l.vphysmap_start), 16));
    assert_eq!((si.mod_start, si.mod_len), (l.vinitrd_start, 5000));
    assert_eq!(si.cmd_line_bytes(), b"root=/dev/xvda1 ro console=hvc0");
    assert!(page(&hv, dom, l.pfn_of(l.vxenstore)).iter().all(|&b| b == 0));
    assert!(page(&hv, dom, l.pfn_of(l.vconsole)).iter().all(|&b| b == 0));

    // Then started.
    start(&hv, &built).unwrap();
    assert_eq!(hv.state.borrow().domain(dom).unwrap().info.flags & XEN_DOMINF_paused, 0);
}

#[test]
fn init_p2m_and_ramdisk_by_pfn() {
    let hv = fake();
    let k = kernel(&[note(15, &INIT_P2M_BASE.to_le_bytes()), note(16, &1u64.to_le_bytes())]);
    let rd = vec![0xabu8; 3 * 4096 + 10];
    let built = build(&hv, &config(""), &images(k.clone(), Some(rd.clone())), &NoNames).unwrap();
    let dom = built.domid;
    let l = layout_for(&k, 8192, rd.len() as u64);
    let si = start_info(&hv, dom, &l);
    assert_eq!(si.flags, SIF_MOD_START_PFN);
    assert_eq!(si.mod_start, l.mapped_pages(), "initrd right after the mapped area");
    assert_eq!(si.mod_len, rd.len() as u64);
    for i in 0..4 {
        let p = page(&hv, dom, si.mod_start + i);
        let n = (rd.len() - i as usize * 4096).min(4096);
        assert!(p[..n].iter().all(|&b| b == 0xab));
    }
    assert_eq!(si.mfn_list, INIT_P2M_BASE);
    assert_eq!(si.first_p2m_pfn, l.mapped_pages() + 4);
    assert_eq!(si.nr_p2m_frames, 16 + 3, "list plus an L3, an L2 and an L1");
    let st = hv.state.borrow();
    let d = st.domain(dom).unwrap();
    let l4 = xen_cr3_to_pfn(d.vcpu_contexts[&0].ctrlreg[3]);
    let first = d.p2m[&si.first_p2m_pfn];
    let mfn_of_5 = d.p2m[&5];
    drop(st);
    let e = walk(&hv, l4, INIT_P2M_BASE).unwrap();
    assert_eq!((e & PTE_ADDR) / PAGE, first);
    assert_eq!(u64_at(&page(&hv, dom, si.first_p2m_pfn), 5), mfn_of_5);
    assert_eq!(si.mfn_list, INIT_P2M_BASE);
}

/// Build with `fault` injected; the domain must be gone and its memory
/// free again. Returns the error line.
fn fails_cleanly(fault: impl FnOnce(&mut crate::hypervisor::fake::FakeFaults)) -> String {
    let hv = fake();
    fault(&mut hv.state.borrow_mut().faults);
    let e = build(&hv, &config(""), &images(kernel(&[]), None), &NoNames).unwrap_err();
    let st = hv.state.borrow();
    assert!(st.domain(DomId(1)).is_none(), "{e}: domain destroyed");
    assert_eq!(st.frames_of(DomId(1)), 0, "{e}: every frame freed");
    assert_eq!(st.physinfo.free_pages, 16384, "{e}: free memory restored");
    assert!(st.calls.iter().any(|c| c == "domctl 2 dom 1"), "{e}: destroydomain issued");
    e.to_string()
}

#[test]
fn populate_running_short_destroys_the_domain() {
    let e = fails_cleanly(|f| f.populate_limit = Some(3000));
    assert_eq!(e, "populating memory of domain 1: Xen gave 3000 of 8192 pages (out of memory?)");
}

#[test]
fn failing_pin_destroys_the_domain() {
    let e = fails_cleanly(|f| f.mmuext = Some(Errno::EINVAL));
    assert!(e.starts_with("pinning the initial page tables: mmuext_op failed: EINVAL"), "{e}");
}

#[test]
fn other_failures_half_way_destroy_the_domain() {
    let e = fails_cleanly(|f| f.setvcpucontext = Some(Errno::EINVAL));
    assert!(e.starts_with("setting vcpu 0's context: "), "{e}");
    let e = fails_cleanly(|f| f.alloc_unbound = Some(Errno::ENOSPC));
    assert!(e.starts_with("allocating the xenstore event channel: EVTCHNOP_alloc_unbound failed: ENOSPC"), "{e}");
    let e = fails_cleanly(|f| f.unmappable = vec![0x10002]);
    assert_eq!(e, "mapping PFN 0x1 of domain 1 failed (error -14)");
}

#[test]
fn createdomain_failure_leaves_nothing() {
    let hv = fake();
    hv.state.borrow_mut().faults.createdomain = Some(Errno::ENOMEM);
    let e = build(&hv, &config(""), &images(kernel(&[]), None), &NoNames).unwrap_err();
    assert!(e.to_string().starts_with("creating the domain: domctl failed: ENOMEM"), "{e}");
    assert_eq!(hv.state.borrow().domains.len(), 2);
    assert_eq!(hv.state.borrow().physinfo.free_pages, 16384);
}

#[test]
fn memory_larger_than_free_is_refused_before_creating() {
    let hv = fake();
    hv.state.borrow_mut().physinfo.free_pages = 4096;
    let e = build(&hv, &config(""), &images(kernel(&[]), None), &NoNames).unwrap_err();
    assert_eq!(e.to_string(), "not enough free memory for domain 'guest': 32 MiB wanted, 16 MiB free");
    assert!(!hv.state.borrow().calls.iter().any(|c| c.starts_with("domctl 1 ")));
}

#[test]
fn kernel_errors_are_one_line() {
    let hv = fake();
    let e = build(&hv, &config(""), &images(b"#!/bin/sh\n".repeat(10), None), &NoNames).unwrap_err();
    let reason = pvboot::parse(&b"#!/bin/sh\n".repeat(10)).unwrap_err();
    assert_eq!(e.to_string(), format!("kernel image '/boot/test-kernel' is not a Xen PV kernel: {reason}"));
    // An ELF whose notes do not name a loader.
    let mut k = kernel(&[]);
    let at = k.windows(8).position(|w| w == b"generic\0").unwrap();
    k[at..at + 7].copy_from_slice(b"special");
    let e = build(&hv, &config(""), &images(k, None), &NoNames).unwrap_err();
    assert!(matches!(e, BuildError::NotPvKernel { reason: pvboot::PvError::Note(_), .. }), "{e}");
    assert!(!e.to_string().contains('\n'));
    assert!(hv.state.borrow().calls.is_empty(), "nothing asked of the hypervisor");
}

#[test]
fn kernel_requiring_dom0_is_refused_as_libxenguest_refuses_it() {
    let hv = fake();
    let k = kernel(&[str_note(10, "!dom0")]);
    let e = build(&hv, &config(""), &images(k, None), &NoNames).unwrap_err();
    assert_eq!(
        e.to_string(),
        "kernel image '/boot/test-kernel': kernel does not support unprivileged (domU) operation (it requires feature 'dom0')"
    );
    assert!(hv.state.borrow().calls.is_empty(), "nothing asked of the hypervisor");
    // Linux's own requirement is no obstacle.
    let k = kernel(&[str_note(10, "!writable_page_tables|pae_pgdir_above_4gb")]);
    assert!(build(&hv, &config(""), &images(k, None), &NoNames).is_ok());
}

/// A bzImage file whose gzip payload is `elf` (gzip run on the host, the
/// size appended as Linux's build appends it).
fn gzip_bzimage(elf: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new("gzip")
        .args(["-n", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip runs");
    child.stdin.take().unwrap().write_all(elf).unwrap();
    let gz = child.wait_with_output().unwrap().stdout;
    let mut img = vec![0u8; 5 * 512];
    img[0x1f1] = 4;
    img[0x202..0x206].copy_from_slice(b"HdrS");
    img[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
    img[0x24c..0x250].copy_from_slice(&(gz.len() as u32).to_le_bytes());
    img.extend_from_slice(&gz);
    img
}

#[test]
fn bzimage_kernel_files_are_unpacked_on_load() {
    let dir = std::env::temp_dir().join(format!("xm-bzimage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let elf = kernel(&[]);
    let path = dir.join("vmlinuz");
    std::fs::write(&path, gzip_bzimage(&elf)).unwrap();
    let text = format!("name = 'guest'\nkernel = '{}'\nmemory = 32\n", path.display());
    let cfg = parse_str(&text, "guest.cfg", &[]).unwrap().0;
    assert_eq!(Images::load(&cfg).unwrap().kernel, elf);
    // Cut short: one line naming the file and the format's complaint.
    let mut img = gzip_bzimage(&elf);
    let n = img.len();
    img.truncate(n - 8);
    let size_at = 0x24c;
    let len = (n - 8 - 5 * 512) as u32;
    img[size_at..size_at + 4].copy_from_slice(&len.to_le_bytes());
    std::fs::write(&path, &img).unwrap();
    let e = Images::load(&cfg).err().expect("refused");
    assert!(e.to_string().starts_with(&format!("kernel image '{}': gzip kernel payload ", path.display())), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn too_little_memory_for_the_layout() {
    let hv = fake();
    let cfg = config("memory = 2\n");
    let e = build(&hv, &cfg, &images(kernel(&[]), None), &NoNames).unwrap_err();
    assert_eq!(
        e.to_string(),
        "memory = 2 MiB is too small for this kernel: the start-of-day layout needs 1024 pages, the domain has 512"
    );
}

#[test]
fn duplicate_names_are_refused() {
    struct Taken;
    impl NameRegistry for Taken {
        fn lookup(&self, name: &str) -> Result<Option<DomId>, String> {
            Ok((name == "guest").then_some(DomId(3)))
        }
    }
    let hv = fake();
    let e = build(&hv, &config(""), &images(kernel(&[]), None), &Taken).unwrap_err();
    assert_eq!(e.to_string(), "domain name 'guest' is already in use by domain 3");
    assert!(hv.state.borrow().calls.is_empty());
}

#[test]
fn missing_files_are_named() {
    let hv = fake();
    let mut cfg = config("");
    cfg.kernel = "/nonexistent/vmlinuz".into();
    let e = create(&hv, &cfg, &NoNames).unwrap_err();
    assert_eq!(e.to_string(), "kernel image '/nonexistent/vmlinuz' not found");
    let dir = std::env::temp_dir().join(format!("xm-build-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kpath = dir.join("kernel");
    std::fs::write(&kpath, kernel(&[])).unwrap();
    cfg.kernel = kpath.display().to_string();
    cfg.ramdisk = Some("/nonexistent/initrd".into());
    let e = create(&hv, &cfg, &NoNames).unwrap_err();
    assert_eq!(e.to_string(), "ramdisk '/nonexistent/initrd' not found");
    assert!(hv.state.borrow().calls.is_empty());
    // With both files present, create builds and unpauses.
    cfg.ramdisk = None;
    let built = create(&hv, &cfg, &NoNames).unwrap();
    assert_eq!(hv.state.borrow().domain(built.domid).unwrap().info.flags & XEN_DOMINF_paused, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cpus_pin_the_vcpus() {
    let hv = fake();
    let cfg = config("cpus = [\"1\", \"all\"]\n");
    let built = build(&hv, &cfg, &images(kernel(&[]), None), &NoNames).unwrap();
    let st = hv.state.borrow();
    let d = st.domain(built.domid).unwrap();
    assert_eq!(d.hard_affinity.get(&0), Some(&vec![0b10]));
    assert_eq!(d.hard_affinity.get(&1), None, "'all' leaves Xen's default");
    drop(st);
    let hv = fake();
    let cfg = config("cpus = \"5\"\n");
    let e = build(&hv, &cfg, &images(kernel(&[]), None), &NoNames).unwrap_err();
    assert!(e.to_string().starts_with("pinning the vcpus (cpus =): "), "{e}");
    assert!(hv.state.borrow().domains.iter().all(|d| d.info.domain != built.domid), "destroyed");
}
