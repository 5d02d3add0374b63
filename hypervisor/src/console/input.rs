//! Serial console input for the hardware domain, as Xen forwards it: the
//! UART's receive interrupt (ISA IRQ 4 through the IO-APIC) drains the
//! bytes into a ring, `VIRQ_CONSOLE` tells dom0, and dom0 takes them with
//! `CONSOLEIO_read`.

use core::sync::atomic::{AtomicBool, Ordering};
use crate::sync::Mutex;

/// The hypervisor's vector for the serial interrupt.
pub const SERIAL_VECTOR: u32 = 0x30;
/// ISA IRQ of COM1.
const COM1_IRQ: u32 = 4;
/// `VIRQ_CONSOLE`.
const VIRQ_CONSOLE: u32 = 2;

/// Bytes received and not yet read, oldest first.
struct Ring {
    buf: [u8; 1024],
    head: usize,
    len: usize,
}

static RX: Mutex<Ring> = Mutex::new(Ring { buf: [0; 1024], head: 0, len: 0 });
/// Input arrived since dom0 was last told.
static PENDING: AtomicBool = AtomicBool::new(false);

/// Route COM1's interrupt to this CPU and enable the UART's receive
/// interrupt; false when no IO-APIC serves the IRQ.
pub fn init(gsi_of_isa: impl Fn(u32) -> (u32, bool, bool), cpu_apic_id: u32) -> bool {
    let (gsi, level, active_low) = gsi_of_isa(COM1_IRQ);
    if !crate::arch::x86_64::ioapic::route(gsi, SERIAL_VECTOR as u8, cpu_apic_id, level, active_low) {
        return false;
    }
    super::serial::enable_rx_interrupt();
    true
}

/// The serial interrupt: move the received bytes into the ring.
pub fn interrupt() {
    let mut tmp = [0u8; 64];
    loop {
        let n = super::serial::read_available(&mut tmp);
        if n == 0 {
            break;
        }
        let mut r = RX.lock();
        for &b in &tmp[..n] {
            if r.len == r.buf.len() {
                // Full: the oldest byte is lost, as on Xen's serial ring.
                r.head = (r.head + 1) % r.buf.len();
                r.len -= 1;
            }
            let at = (r.head + r.len) % r.buf.len();
            r.buf[at] = b;
            r.len += 1;
        }
        PENDING.store(true, Ordering::Release);
    }
}

/// Take up to `out.len()` received bytes.
pub fn read(out: &mut [u8]) -> usize {
    // Bytes still in the UART (interrupts off, or not routed) come too.
    interrupt();
    let mut r = RX.lock();
    let n = r.len.min(out.len());
    for (i, b) in out[..n].iter_mut().enumerate() {
        *b = r.buf[(r.head + i) % r.buf.len()];
    }
    r.head = (r.head + n) % r.buf.len();
    r.len -= n;
    n
}

/// Raise `VIRQ_CONSOLE` in the hardware domain if input arrived.
pub fn deliver() {
    if !PENDING.swap(false, Ordering::AcqRel) {
        return;
    }
    let Some(d) = crate::domain::by_id(0) else { return };
    let port = d.evtchn.lock().virq_port(VIRQ_CONSOLE);
    if let Some(p) = port {
        crate::hypercall::event_channel::notify(d, p);
    }
}
