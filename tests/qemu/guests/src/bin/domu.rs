//! `domu`: the test kernel `xm create` starts as a domU.
//!
//! It writes to its console ring (not the hypervisor's console: see
//! [`pv_guests::console::init`]) a few facts — its command line, memory,
//! and its domain id and name read from xenstore over its own ring — then
//! watches `control/shutdown` and waits, yielding the CPU, until the
//! toolstack asks it to stop:
//!
//! * `poweroff` / `halt`: acknowledge (write the node empty, as Linux does)
//!   and `SCHEDOP_shutdown(SHUTDOWN_poweroff)`;
//! * `reboot`: the same with `SHUTDOWN_reboot`.
//!
//! Bytes typed on its console are echoed back as `domu: input <text>`.
//! With `spin` on its command line it never yields while it waits: a
//! CPU-bound guest, for the scheduler's tests (weights, caps).
//! With `ipistorm` on its command line (and two vCPUs) it starts its
//! second vCPU and the two send each other IPIs (event channels from
//! `EVTCHNOP_bind_ipi`) as fast as they can: vCPU 0 sends, vCPU 1 answers
//! when its upcall saw the event, vCPU 0 waits for the answer, and again.
//! A vCPU waits with `SCHEDOP_block`, as an idle Linux vCPU does, or with
//! `ipistorm spin` busily with events unmasked. Once a second vCPU 0
//! prints `domu: ipistorm vcpu0 <n> vcpu1 <m> round trips; <t> ns per
//! round trip over <ms> ms` (each vCPU's own count, and the mean round
//! trip in the last period by the guest's clock). A storm only ends with
//! `xm destroy`.
//! With `crash` on its command line it instead reads an unmapped address
//! without a trap table right after the facts, so the hypervisor crashes it.
//!
//! Lines start with `domu: ` so a test can find them in a console log.
#![no_std]
#![no_main]

use core::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, Ordering};

use dom0_abi::io::xenstore_ring::{XenstoreDomainInterface, XENSTORE_RING_SIZE};
use dom0_abi::io::xs_wire::{XS_READ, XS_WATCH, XS_WATCH_EVENT, XS_WRITE};
use dom0_abi::sched::{SHUTDOWN_poweroff, SHUTDOWN_reboot};
use pv_guests::console::{self, evtchn_send, sched_yield};
use pv_guests::fmt::until_nul;
use dom0_abi::xen::{SharedInfo, VcpuTimeInfo};
use pv_guests::hypercall;
use pv_guests::{events, smp};
use pv_guests::{println, StartInfo};

pv_guests::entry!(main);

/// Virtual base of the initial mapping (PFN 0).
const VIRT_BASE: u64 = 0xffff_ffff_8000_0000;
/// An address nothing maps (the low 2 MiB stay empty).
const UNMAPPED: u64 = 0x1000;
/// Size of a xenstore message header.
const HEADER: usize = 16;
/// Largest message we handle (our requests and replies are short).
const MAX_MSG: usize = 512;
/// Watch token of `control/shutdown`.
const TOKEN: &[u8] = b"shutdown";

/// The xenstore ring and its event channel, as a tiny synchronous client.
struct Store {
    ring: *mut XenstoreDomainInterface,
    port: u32,
    next_id: u32,
    /// A watch event seen while waiting for a reply.
    event_pending: bool,
}

impl Store {
    /// The ring of `start_info.store_mfn`, found in the initial mapping.
    fn new(si: &StartInfo) -> Option<Self> {
        // SAFETY: `mfn_list` maps `nr_pages` p2m entries (the PV ABI).
        let p2m = unsafe { core::slice::from_raw_parts(si.mfn_list as *const u64, si.nr_pages as usize) };
        let pfn = console::pfn_of(p2m, si.store_mfn)?;
        Some(Store {
            ring: (VIRT_BASE + pfn * 4096) as *mut XenstoreDomainInterface,
            port: si.store_evtchn,
            next_id: 1,
            event_pending: false,
        })
    }

    fn idx(&self, f: fn(*mut XenstoreDomainInterface) -> *mut u32) -> u32 {
        // SAFETY: the ring page is mapped; the daemon updates it
        // concurrently, hence volatile.
        let v = unsafe { f(self.ring).read_volatile() };
        fence(Ordering::Acquire);
        v
    }

    fn set_idx(&self, f: fn(*mut XenstoreDomainInterface) -> *mut u32, v: u32) {
        fence(Ordering::Release);
        // SAFETY: as in `idx`; we own the index written.
        unsafe { f(self.ring).write_volatile(v) };
    }

    /// Put `bytes` into the request ring (waiting for room).
    fn put(&self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let cons = self.idx(|r| unsafe { core::ptr::addr_of_mut!((*r).req_cons) });
            let prod = self.idx(|r| unsafe { core::ptr::addr_of_mut!((*r).req_prod) });
            let space = XENSTORE_RING_SIZE - (prod.wrapping_sub(cons) as usize).min(XENSTORE_RING_SIZE);
            if space == 0 {
                evtchn_send(self.port);
                sched_yield();
                continue;
            }
            let n = space.min(bytes.len());
            for (i, &b) in bytes[..n].iter().enumerate() {
                let at = (prod as usize + i) % XENSTORE_RING_SIZE;
                // SAFETY: `at` is inside `req`.
                unsafe { core::ptr::addr_of_mut!((*self.ring).req[at]).write_volatile(b) };
            }
            self.set_idx(|r| unsafe { core::ptr::addr_of_mut!((*r).req_prod) }, prod.wrapping_add(n as u32));
            evtchn_send(self.port);
            bytes = &bytes[n..];
        }
    }

    /// Bytes waiting in the response ring.
    fn available(&self) -> usize {
        let cons = self.idx(|r| unsafe { core::ptr::addr_of_mut!((*r).rsp_cons) });
        let prod = self.idx(|r| unsafe { core::ptr::addr_of_mut!((*r).rsp_prod) });
        (prod.wrapping_sub(cons) as usize).min(XENSTORE_RING_SIZE)
    }

    /// Take `out.len()` bytes from the response ring (waiting for them).
    fn take(&self, out: &mut [u8]) {
        let mut done = 0;
        while done < out.len() {
            let n = self.available().min(out.len() - done);
            if n == 0 {
                sched_yield();
                continue;
            }
            let cons = self.idx(|r| unsafe { core::ptr::addr_of_mut!((*r).rsp_cons) });
            for i in 0..n {
                let at = (cons as usize + i) % XENSTORE_RING_SIZE;
                // SAFETY: `at` is inside `rsp`.
                out[done + i] = unsafe { core::ptr::addr_of!((*self.ring).rsp[at]).read_volatile() };
            }
            self.set_idx(|r| unsafe { core::ptr::addr_of_mut!((*r).rsp_cons) }, cons.wrapping_add(n as u32));
            evtchn_send(self.port);
            done += n;
        }
    }

    /// Read one whole message: (type, payload length), payload in `body`.
    fn message(&self, body: &mut [u8; MAX_MSG]) -> (u32, usize) {
        let mut h = [0u8; HEADER];
        self.take(&mut h);
        let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let (ty, len) = (word(0), word(12) as usize);
        let keep = len.min(MAX_MSG);
        self.take(&mut body[..keep]);
        let mut rest = len - keep;
        let mut sink = [0u8; 64];
        while rest > 0 {
            let n = rest.min(sink.len());
            self.take(&mut sink[..n]);
            rest -= n;
        }
        (ty, keep)
    }

    /// Send a request made of NUL-terminated `strings` (the last one
    /// unterminated when `raw_last`) and wait for its reply; watch events
    /// met on the way are remembered. Returns the reply's type and length.
    fn request(&mut self, ty: u32, parts: &[&[u8]], raw_last: bool, reply: &mut [u8; MAX_MSG]) -> (u32, usize) {
        let mut len = 0;
        for (i, p) in parts.iter().enumerate() {
            len += p.len() + usize::from(!(raw_last && i == parts.len() - 1));
        }
        let id = self.next_id;
        self.next_id += 1;
        let mut h = [0u8; HEADER];
        h[0..4].copy_from_slice(&ty.to_le_bytes());
        h[4..8].copy_from_slice(&id.to_le_bytes());
        h[12..16].copy_from_slice(&(len as u32).to_le_bytes());
        self.put(&h);
        for (i, p) in parts.iter().enumerate() {
            self.put(p);
            if !(raw_last && i == parts.len() - 1) {
                self.put(&[0]);
            }
        }
        loop {
            let (rty, n) = self.message(reply);
            if rty == XS_WATCH_EVENT {
                self.event_pending = true;
                continue;
            }
            return (rty, n);
        }
    }

    /// The value of `path` (relative to our home), or `None` on an error reply.
    fn read<'a>(&mut self, path: &[u8], buf: &'a mut [u8; MAX_MSG]) -> Option<&'a [u8]> {
        let (ty, n) = self.request(XS_READ, &[path], false, buf);
        (ty == XS_READ).then(|| &buf[..n])
    }
}

fn text(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap_or("?")
}

/// The control domain's hypercalls, tried by an unprivileged domain: each
/// must answer `EPERM` (printed as the raw result).
fn privileged_ops_refused() {
    use dom0_abi::domctl::{DomctlCmd, XenDomctl};
    use dom0_abi::hypercall::{HYPERVISOR_console_io, HYPERVISOR_domctl, HYPERVISOR_sysctl};
    use dom0_abi::sysctl::{SysctlCmd, XenSysctl};
    let mut d = XenDomctl::new(DomctlCmd::Getdomaininfo, dom0_abi::DomId(0));
    let mut c = XenDomctl::new(DomctlCmd::Createdomain, dom0_abi::DomId(0));
    let mut y = XenSysctl::new(SysctlCmd::Physinfo);
    let msg = b"x";
    // SAFETY: each argument is a live structure of the right type; the
    // hypervisor only refuses them.
    let r = unsafe {
        [
            hypercall::raw(HYPERVISOR_domctl, &mut d as *mut XenDomctl as u64, 0, 0, 0, 0),
            hypercall::raw(HYPERVISOR_domctl, &mut c as *mut XenDomctl as u64, 0, 0, 0, 0),
            hypercall::raw(HYPERVISOR_sysctl, &mut y as *mut XenSysctl as u64, 0, 0, 0, 0),
            hypercall::raw(HYPERVISOR_console_io, 0, 1, msg.as_ptr() as u64, 0, 0),
        ]
    };
    println!("domu: privileged ops {} {} {} {}", r[0], r[1], r[2], r[3]);
}

fn main(si: &'static StartInfo) {
    let on_ring = console::init(si);
    let cmdline = until_nul(&si.cmd_line);
    println!("domu: hello from a PV domU");
    println!("domu: console {}", if on_ring { "ring" } else { "console_io" });
    println!("domu: cmdline {}", text(cmdline));
    println!("domu: pages {}", si.nr_pages);
    let Some(mut store) = Store::new(si) else {
        println!("domu: xenstore page not in the p2m list");
        hypercall::shutdown(dom0_abi::sched::SHUTDOWN_crash);
    };
    let mut buf = [0u8; MAX_MSG];
    match store.read(b"domid", &mut buf) {
        Some(v) => println!("domu: domid {}", text(v)),
        None => println!("domu: domid unreadable"),
    }
    match store.read(b"name", &mut buf) {
        Some(v) => println!("domu: name {}", text(v)),
        None => println!("domu: name unreadable"),
    }
    privileged_ops_refused();
    if cmdline.windows(5).any(|w| w == b"crash") {
        println!("domu: crashing as asked");
        // SAFETY: deliberately not safe: with no trap table the fault
        // crashes the domain; nothing runs after it.
        let v = unsafe { (UNMAPPED as *const u64).read_volatile() };
        println!("domu: the read returned {v:#x}");
    }
    let (ty, _) = store.request(XS_WATCH, &[b"control/shutdown", TOKEN], false, &mut buf);
    println!("domu: watching control/shutdown ({})", if ty == XS_WATCH { "ok" } else { "refused" });
    let spin = cmdline.windows(4).any(|w| w == b"spin");
    if cmdline.windows(8).any(|w| w == b"ipistorm") {
        ipi_storm(si, spin);
    }
    println!("domu: ready{}", if spin { " (spinning)" } else { "" });
    wait_for_shutdown(&mut store, spin)
}

/// Yield (or with `spin`, keep the CPU busy) until `control/shutdown`
/// asks for something we know, echoing console input meanwhile.
fn wait_for_shutdown(store: &mut Store, spin: bool) -> ! {
    let mut buf = [0u8; MAX_MSG];
    let mut input = [0u8; 64];
    loop {
        let n = console::read_input(&mut input);
        if n > 0 {
            let typed = &input[..n];
            let shown = typed.strip_suffix(b"\r").or_else(|| typed.strip_suffix(b"\n")).unwrap_or(typed);
            println!("domu: input {}", text(shown));
        }
        if store.available() >= HEADER {
            let (ty, _) = store.message(&mut buf);
            store.event_pending |= ty == XS_WATCH_EVENT;
        }
        if core::mem::take(&mut store.event_pending) {
            let reason = match store.read(b"control/shutdown", &mut buf) {
                Some(b"poweroff") | Some(b"halt") => Some(("poweroff", SHUTDOWN_poweroff)),
                Some(b"reboot") => Some(("reboot", SHUTDOWN_reboot)),
                _ => None,
            };
            if let Some((what, code)) = reason {
                store.request(XS_WRITE, &[b"control/shutdown", b""], true, &mut buf);
                println!("domu: shutdown request: {what}");
                hypercall::shutdown(code);
            }
        }
        if spin {
            core::hint::spin_loop();
        } else {
            sched_yield();
        }
    }
}

/// `IPI_PORT[v]`: the port that notifies vCPU `v` (0 until bound).
static IPI_PORT: [AtomicU32; 2] = [const { AtomicU32::new(0) }; 2];
/// `GOT[v]`: vCPU `v`'s upcall saw its IPI.
static GOT: [AtomicBool; 2] = [const { AtomicBool::new(false) }; 2];
/// Round trips each vCPU completed.
static TRIPS: [AtomicU64; 2] = [const { AtomicU64::new(0) }; 2];
/// Wait busily (events unmasked) instead of blocking.
static SPIN: AtomicBool = AtomicBool::new(false);
/// Nanoseconds between two progress lines.
const STORM_PERIOD_NS: u64 = 1_000_000_000;

/// The event handler of the storm: note an IPI on the vCPU it is for.
fn on_event(vcpu: u32, port: u32) {
    let v = vcpu as usize;
    if v < IPI_PORT.len() && IPI_PORT[v].load(Ordering::Acquire) == port {
        GOT[v].store(true, Ordering::Release);
    }
}

/// Wait on vCPU `v` for its IPI, then consume it.
fn wait_ipi(v: usize) {
    if SPIN.load(Ordering::Relaxed) {
        while !GOT[v].load(Ordering::Acquire) {
            core::hint::spin_loop();
        }
    } else {
        events::block_until(|| GOT[v].load(Ordering::Acquire));
    }
    GOT[v].store(false, Ordering::Release);
}

/// System time of vCPU 0 in ns (a version-checked read of its time info).
fn now(shared: *const SharedInfo) -> u64 {
    loop {
        // SAFETY: vCPU 0's slot of the mapped shared_info page; the
        // hypervisor updates it concurrently, hence volatile reads and the
        // version check.
        let t: VcpuTimeInfo = unsafe { core::ptr::read_volatile(&raw const (*shared).vcpu_info[0].time) };
        // SAFETY: RDTSC has no side effects.
        let tsc = unsafe { core::arch::x86_64::_rdtsc() };
        // SAFETY: as above.
        let again = unsafe { core::ptr::read_volatile(&raw const (*shared).vcpu_info[0].time.version) };
        if t.version & 1 == 0 && t.version == again {
            return t.system_time + t.scale_delta(tsc.wrapping_sub(t.tsc_timestamp));
        }
    }
}

/// vCPU 1 of the storm: bind its IPI, then answer every IPI with one.
fn storm_secondary(vcpu: u32) -> ! {
    match events::bind_ipi(vcpu) {
        Ok(port) => IPI_PORT[1].store(port as u32, Ordering::Release),
        Err(e) => panic!("vCPU {vcpu}: EVTCHNOP_bind_ipi: {e}"),
    }
    events::unmask_this_vcpu();
    loop {
        wait_ipi(1);
        evtchn_send(IPI_PORT[0].load(Ordering::Acquire));
        TRIPS[1].fetch_add(1, Ordering::Relaxed);
    }
}

/// vCPU 0 of the storm: start vCPU 1, then ping it forever, reporting
/// progress every [`STORM_PERIOD_NS`]. Returns only if the storm could
/// not start.
fn ipi_storm(si: &'static StartInfo, spin: bool) {
    SPIN.store(spin, Ordering::Relaxed);
    let shared = match events::install(si) {
        Ok((shared, Ok(_))) => shared,
        Ok((_, Err(e))) => return println!("domu: ipistorm: registering the event callback: {e}"),
        Err(e) => return println!("domu: ipistorm: mapping shared_info: {e}"),
    };
    events::set_handler(on_event);
    match events::bind_ipi(0) {
        Ok(port) => IPI_PORT[0].store(port as u32, Ordering::Release),
        Err(e) => return println!("domu: ipistorm: EVTCHNOP_bind_ipi on vCPU 0: {e}"),
    }
    if let Err(e) = smp::bring_up(si, 1, storm_secondary) {
        return println!("domu: ipistorm: starting vCPU 1: {e}");
    }
    while IPI_PORT[1].load(Ordering::Acquire) == 0 {
        sched_yield();
    }
    let ports = [IPI_PORT[0].load(Ordering::Relaxed), IPI_PORT[1].load(Ordering::Relaxed)];
    println!("domu: ipistorm: vCPU 1 up, IPI ports {} {}, {}", ports[0], ports[1], if spin { "spinning" } else { "blocking" });
    let (mut since, mut trips_since) = (now(shared), 0);
    loop {
        evtchn_send(ports[1]);
        wait_ipi(0);
        let trips = TRIPS[0].fetch_add(1, Ordering::Relaxed) + 1;
        let t = now(shared);
        if t - since >= STORM_PERIOD_NS {
            let ns = (t - since) / (trips - trips_since);
            let other = TRIPS[1].load(Ordering::Relaxed);
            println!(
                "domu: ipistorm vcpu0 {trips} vcpu1 {other} round trips; {ns} ns per round trip over {} ms",
                (t - since) / 1_000_000
            );
            (since, trips_since) = (t, trips);
        }
    }
}
