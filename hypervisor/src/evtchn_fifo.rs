//! The FIFO event-channel ABI (Xen's `event_fifo.c`), as logic over the
//! guest-shared memory it works on: an event array of 32-bit event words
//! (PENDING, MASKED, LINKED, BUSY and a 17-bit LINK) in guest pages, and a
//! control block per vCPU (a READY bitmap and the head of each of 16
//! priority queues). Raising an event sets PENDING and, unless masked or
//! already queued, links it at the tail of its priority queue on its vCPU
//! (through the old tail's LINK field, changed with compare-and-exchange
//! because the guest edits those words concurrently), or makes it the head
//! of an empty queue and sets that queue's READY bit — which is when the
//! vCPU gets an upcall. The guest consumes queues itself.
//!
//! Ports raised while their page of the event array is missing are kept
//! and raised when the page arrives (`EVTCHNOP_expand_array`).

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use dom0_abi::event_channel::{
    EVTCHN_FIFO_BUSY, EVTCHN_FIFO_LINKED, EVTCHN_FIFO_LINK_MASK, EVTCHN_FIFO_MASKED, EVTCHN_FIFO_MAX_QUEUES,
    EVTCHN_FIFO_NR_CHANNELS, EVTCHN_FIFO_PENDING, EVTCHN_FIFO_PRIORITY_DEFAULT, EVTCHN_FIFO_PRIORITY_MIN,
};

/// Event words in one page of the event array.
pub const WORDS_PER_PAGE: u32 = 1024;
/// Most pages an event array may have.
pub const MAX_PAGES: usize = (EVTCHN_FIFO_NR_CHANNELS / WORDS_PER_PAGE) as usize;

const PENDING: u32 = 1 << EVTCHN_FIFO_PENDING;
const MASKED: u32 = 1 << EVTCHN_FIFO_MASKED;
const LINKED: u32 = 1 << EVTCHN_FIFO_LINKED;
const BUSY: u32 = 1 << EVTCHN_FIFO_BUSY;

/// A vCPU's control block, as it lies in guest memory.
#[repr(C)]
pub struct ControlBlock {
    /// Bitmap of queues with events ready.
    pub ready: AtomicU32,
    _rsvd: AtomicU32,
    /// Head port of each priority queue.
    pub head: [AtomicU32; EVTCHN_FIFO_MAX_QUEUES],
}

/// Size of a control block in guest memory.
pub const CONTROL_BLOCK_SIZE: usize = core::mem::size_of::<ControlBlock>();

/// Why a FIFO operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FifoError {
    /// The vCPU's control block is mapped already, or a bad priority.
    Invalid,
    /// The event array is full.
    NoSpace,
}

/// One domain's FIFO state.
pub struct Fifo {
    /// Machine frames the domain gave (control blocks and event array),
    /// each held with a writable-type reference until the FIFO state goes.
    pub frames: Vec<u64>,
    pages: Vec<&'static [AtomicU32]>,
    control: Vec<Option<&'static ControlBlock>>,
    tails: Vec<[u32; EVTCHN_FIFO_MAX_QUEUES]>,
    priority: Vec<u8>,
    lastq: Vec<(u16, u8)>,
    saved: Vec<bool>,
}

impl Fifo {
    /// No event array and no control blocks yet, for `nr_vcpus` vCPUs and
    /// `nr_ports` ports; every port at the default priority.
    pub fn new(nr_vcpus: usize, nr_ports: usize) -> Self {
        let p = EVTCHN_FIFO_PRIORITY_DEFAULT as u8;
        Self {
            frames: Vec::new(),
            pages: Vec::new(),
            control: alloc::vec![None; nr_vcpus],
            tails: alloc::vec![[0; EVTCHN_FIFO_MAX_QUEUES]; nr_vcpus],
            priority: alloc::vec![p; nr_ports],
            lastq: alloc::vec![(0, p); nr_ports],
            saved: alloc::vec![false; nr_ports],
        }
    }

    /// Ports the event array covers.
    pub fn nr_words(&self) -> u32 {
        self.pages.len() as u32 * WORDS_PER_PAGE
    }

    fn word(&self, port: u32) -> Option<&'static AtomicU32> {
        let page = self.pages.get((port / WORDS_PER_PAGE) as usize)?;
        page.get((port % WORDS_PER_PAGE) as usize)
    }

    /// Map `vcpu`'s control block.
    pub fn map_control(&mut self, vcpu: usize, cb: &'static ControlBlock) -> Result<(), FifoError> {
        let slot = self.control.get_mut(vcpu).ok_or(FifoError::Invalid)?;
        if slot.is_some() {
            return Err(FifoError::Invalid);
        }
        *slot = Some(cb);
        Ok(())
    }

    /// Remember that `port` was pending before the switch to FIFO (or
    /// while its page was missing).
    pub fn save_pending(&mut self, port: u32) {
        if let Some(s) = self.saved.get_mut(port as usize) {
            *s = true;
        }
    }

    /// Append a page of event words; returns the ports of the page that
    /// were raised meanwhile (to raise now).
    pub fn add_page(&mut self, page: &'static [AtomicU32]) -> Result<Vec<u32>, FifoError> {
        if self.pages.len() >= MAX_PAGES || page.len() < WORDS_PER_PAGE as usize {
            return Err(FifoError::NoSpace);
        }
        let first = self.nr_words();
        self.pages.push(page);
        let mut raise = Vec::new();
        for port in first..self.nr_words() {
            if let Some(s) = self.saved.get_mut(port as usize) {
                if core::mem::take(s) {
                    raise.push(port);
                }
            }
        }
        Ok(raise)
    }

    /// Set `port`'s priority for future events.
    pub fn set_priority(&mut self, port: u32, priority: u32) -> Result<(), FifoError> {
        if priority > EVTCHN_FIFO_PRIORITY_MIN {
            return Err(FifoError::Invalid);
        }
        *self.priority.get_mut(port as usize).ok_or(FifoError::Invalid)? = priority as u8;
        Ok(())
    }

    /// Raise `port` for `vcpu`; true when the vCPU must get an upcall.
    pub fn set_pending(&mut self, vcpu: usize, port: u32) -> bool {
        let Some(word) = self.word(port) else {
            self.save_pending(port);
            return false;
        };
        let Some(cb) = self.control.get(vcpu).copied().flatten() else {
            // No control block: the guest may not unmask yet; dropped.
            return false;
        };
        let prio = self.priority.get(port as usize).copied().unwrap_or(EVTCHN_FIFO_PRIORITY_DEFAULT as u8);
        word.fetch_or(PENDING, Ordering::SeqCst);
        let mut linked = true;
        if word.load(Ordering::SeqCst) & MASKED == 0 && word.fetch_or(LINKED, Ordering::SeqCst) & LINKED == 0 {
            let (old_v, old_p) = self.lastq[port as usize];
            if let Some(t) = self.tails.get_mut(usize::from(old_v)).and_then(|t| t.get_mut(usize::from(old_p))) {
                if *t == port {
                    *t = 0;
                }
            }
            self.lastq[port as usize] = (vcpu as u16, prio);
            let tail = self.tails[vcpu][usize::from(prio)];
            linked = tail != 0 && self.word(tail).is_some_and(|w| set_link(w, port));
            if !linked {
                cb.head[usize::from(prio)].store(port, Ordering::SeqCst);
            }
            self.tails[vcpu][usize::from(prio)] = port;
        }
        !linked && cb.ready.fetch_or(1 << prio, Ordering::SeqCst) & (1 << prio) == 0
    }

    /// Clear `port`'s PENDING bit (the guest unlinks it itself).
    pub fn clear_pending(&mut self, port: u32) {
        if let Some(w) = self.word(port) {
            w.fetch_and(!PENDING, Ordering::SeqCst);
        }
        if let Some(s) = self.saved.get_mut(port as usize) {
            *s = false;
        }
    }

    /// Unmask `port` and raise it again if pending; true when `vcpu` must
    /// get an upcall.
    pub fn unmask(&mut self, vcpu: usize, port: u32) -> bool {
        let Some(w) = self.word(port) else { return false };
        w.fetch_and(!MASKED, Ordering::SeqCst);
        w.load(Ordering::SeqCst) & PENDING != 0 && self.set_pending(vcpu, port)
    }

    /// Whether `port` is pending.
    pub fn is_pending(&self, port: u32) -> bool {
        self.word(port).is_some_and(|w| w.load(Ordering::SeqCst) & PENDING != 0)
    }
}

/// Set the LINK field of a word iff it is still LINKED; the guest may only
/// mask, unmask, clear PENDING or unlink a linked word, so after marking it
/// BUSY (which holds off unmasking) a few attempts suffice.
fn set_link(word: &AtomicU32, link: u32) -> bool {
    let attempt = |w: u32| -> Result<bool, u32> {
        if w & LINKED == 0 {
            return Ok(false);
        }
        let new = (w & !(BUSY | EVTCHN_FIFO_LINK_MASK)) | link;
        word.compare_exchange(w, new, Ordering::SeqCst, Ordering::SeqCst).map(|_| true)
    };
    if let Ok(r) = attempt(word.load(Ordering::SeqCst)) {
        return r;
    }
    word.fetch_or(BUSY, Ordering::SeqCst);
    for _ in 0..4 {
        match attempt(word.load(Ordering::SeqCst)) {
            Ok(true) => return true,
            Ok(false) => {
                word.fetch_and(!BUSY, Ordering::SeqCst);
                return false;
            }
            Err(_) => {}
        }
    }
    // The guest kept changing the word: leave it linked, as Xen does.
    word.fetch_and(!BUSY, Ordering::SeqCst);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;

    fn page() -> &'static [AtomicU32] {
        Box::leak((0..WORDS_PER_PAGE).map(|_| AtomicU32::new(0)).collect::<Vec<_>>().into_boxed_slice())
    }

    fn control() -> &'static ControlBlock {
        Box::leak(Box::new(ControlBlock {
            ready: AtomicU32::new(0),
            _rsvd: AtomicU32::new(0),
            head: core::array::from_fn(|_| AtomicU32::new(0)),
        }))
    }

    fn w(f: &Fifo, port: u32) -> u32 {
        f.word(port).unwrap().load(Ordering::SeqCst)
    }

    #[test]
    fn queue_links_in_order_and_raises_once() {
        let mut f = Fifo::new(1, 4096);
        let cb = control();
        f.map_control(0, cb).unwrap();
        assert_eq!(f.map_control(0, cb), Err(FifoError::Invalid));
        assert!(f.add_page(page()).unwrap().is_empty());
        assert!(f.set_pending(0, 5), "first event of an empty queue: upcall");
        assert_eq!(cb.head[7].load(Ordering::SeqCst), 5);
        assert_eq!(cb.ready.load(Ordering::SeqCst), 1 << 7);
        assert!(!f.set_pending(0, 9), "queued behind 5: no new upcall");
        assert_eq!(w(&f, 5) & EVTCHN_FIFO_LINK_MASK, 9, "5 links to 9");
        assert_eq!(w(&f, 9) & (PENDING | LINKED), PENDING | LINKED);
        assert!(!f.set_pending(0, 9), "already linked");
        f.set_priority(3, 2).unwrap();
        assert!(f.set_pending(0, 3), "a new queue");
        assert_eq!(cb.head[2].load(Ordering::SeqCst), 3);
        assert_eq!(f.set_priority(3, 16), Err(FifoError::Invalid));
    }

    #[test]
    fn masked_missing_and_unmask() {
        let mut f = Fifo::new(1, 4096);
        let cb = control();
        f.map_control(0, cb).unwrap();
        assert!(!f.set_pending(0, 1500), "no page yet");
        f.add_page(page()).unwrap();
        assert_eq!(f.add_page(page()).unwrap(), [1500], "raised when its page arrives");
        f.word(7).unwrap().store(MASKED, Ordering::SeqCst);
        assert!(!f.set_pending(0, 7), "masked: pending, not linked");
        assert!(f.is_pending(7));
        assert!(f.unmask(0, 7), "unmasking a pending event queues it");
        assert_eq!(cb.head[7].load(Ordering::SeqCst), 7);
        f.clear_pending(7);
        assert!(!f.is_pending(7));
    }

    #[test]
    fn guest_unlinked_tail_starts_a_new_head() {
        let mut f = Fifo::new(1, 4096);
        let cb = control();
        f.map_control(0, cb).unwrap();
        f.add_page(page()).unwrap();
        f.set_pending(0, 4);
        // The guest consumes 4: clears LINKED and PENDING and READY.
        f.word(4).unwrap().store(0, Ordering::SeqCst);
        cb.ready.store(0, Ordering::SeqCst);
        assert!(f.set_pending(0, 6), "old tail unlinked: 6 becomes the head");
        assert_eq!(cb.head[7].load(Ordering::SeqCst), 6);
    }
}
