//! The FIFO event-channel ABI's guest surface: `EVTCHNOP_init_control`
//! (the first one switches the domain from the 2-level ABI, carrying the
//! pending ports over), `EVTCHNOP_expand_array`, `EVTCHNOP_set_priority`,
//! and the ABI-dependent halves of raising, unmasking and clearing a port.
//! The queue logic is [`crate::evtchn_fifo`]'s.
//!
//! Lock order: the domain's event-channel table, then its FIFO state.

use core::sync::atomic::AtomicU32;

use dom0_abi::event_channel::{EvtchnExpandArray, EvtchnInitControl, EvtchnSetPriority, EVTCHN_FIFO_LINK_BITS};
use dom0_abi::Errno;

use super::HcResult;
use crate::arch::x86_64::paging::maddr_to_virt;
use crate::arch::x86_64::uaccess::{read_guest, write_guest};
use crate::domain::{Domain, Vcpu};
use crate::evtchn_fifo::{ControlBlock, Fifo, FifoError, CONTROL_BLOCK_SIZE, WORDS_PER_PAGE};
use crate::mm::frame_table;
use crate::mm::page::PageType;

/// Take a writable-type reference on the domain's frame `mfn` (`EINVAL`
/// when it is not the domain's or cannot be writable).
fn get_writable(d: &Domain, mfn: u64) -> Result<(), Errno> {
    let a = d.actor();
    frame_table::with(|m| m.get_page_and_type(mfn, PageType::Writable, a)).map_err(|_| Errno::EINVAL)
}

fn put_frames(frames: &[u64]) {
    frame_table::with(|m| {
        for &mfn in frames {
            m.put_page_and_type(mfn);
        }
    });
}

/// `EVTCHNOP_init_control`.
pub fn init_control(v: &mut Vcpu, arg: u64) -> HcResult {
    let mut ic: EvtchnInitControl = read_guest(arg).map_err(|_| Errno::EFAULT)?;
    ic.link_bits = EVTCHN_FIFO_LINK_BITS as u8;
    let d = v.domain;
    let nr_vcpus = d.vcpu_list().len().max(1);
    if ic.vcpu as usize >= nr_vcpus {
        return Err(Errno::ENOENT);
    }
    if ic.offset as usize > 4096 - CONTROL_BLOCK_SIZE || ic.offset % 8 != 0 {
        return Err(Errno::EINVAL);
    }
    let mfn = ic.control_gfn;
    let mut fifo = d.fifo.lock();
    let first = fifo.is_none();
    if first {
        let mut f = Fifo::new(nr_vcpus, crate::evtchn::NR_EVENT_CHANNELS as usize);
        // Ports pending under the 2-level ABI stay pending.
        let si = d.shared_info();
        for port in 1..crate::evtchn::NR_EVENT_CHANNELS {
            if si.evtchn_pending[(port / 64) as usize] & (1 << (port % 64)) != 0 {
                f.save_pending(port);
            }
        }
        *fifo = Some(f);
    }
    let Some(f) = fifo.as_mut() else { return Err(Errno::EINVAL) };
    let mapped = get_writable(d, mfn).and_then(|()| {
        // SAFETY: a frame of the domain's own, held writable while the FIFO
        // state lives; the offset keeps the block inside the page, 8-aligned.
        let cb = unsafe { &*((maddr_to_virt(mfn << 12) + u64::from(ic.offset)) as *const ControlBlock) };
        f.map_control(ic.vcpu as usize, cb).map_err(|_| {
            put_frames(&[mfn]);
            Errno::EINVAL
        })
    });
    if let Err(e) = mapped {
        if first {
            // Back to the 2-level ABI, as Xen's error path does.
            if let Some(f) = fifo.take() {
                put_frames(&f.frames);
            }
        }
        return Err(e);
    }
    f.frames.push(mfn);
    drop(fifo);
    write_guest(arg, &ic).map_err(|_| Errno::EFAULT)?;
    Ok(0)
}

/// `EVTCHNOP_expand_array`.
pub fn expand_array(v: &mut Vcpu, arg: u64) -> HcResult {
    let e: EvtchnExpandArray = read_guest(arg).map_err(|_| Errno::EFAULT)?;
    let d = v.domain;
    let mut fifo = d.fifo.lock();
    let Some(f) = fifo.as_mut() else { return Err(Errno::EOPNOTSUPP) };
    let mfn = e.array_gfn;
    if f.nr_words() / WORDS_PER_PAGE >= crate::evtchn_fifo::MAX_PAGES as u32 {
        return Err(Errno::ENOSPC);
    }
    get_writable(d, mfn)?;
    // SAFETY: a frame of the domain's own, held writable while the FIFO
    // state lives; 1024 naturally aligned 32-bit words.
    let page = unsafe { core::slice::from_raw_parts(maddr_to_virt(mfn << 12) as *const AtomicU32, WORDS_PER_PAGE as usize) };
    let raise = match f.add_page(page) {
        Ok(r) => r,
        Err(FifoError::NoSpace | FifoError::Invalid) => {
            put_frames(&[mfn]);
            return Err(Errno::ENOSPC);
        }
    };
    f.frames.push(mfn);
    drop(fifo);
    for port in raise {
        super::event_channel::notify(d, port);
    }
    Ok(0)
}

/// `EVTCHNOP_set_priority`: `ENOSYS` under the 2-level ABI, as on Xen.
pub fn set_priority(v: &mut Vcpu, arg: u64) -> HcResult {
    let s: EvtchnSetPriority = read_guest(arg).map_err(|_| Errno::EFAULT)?;
    let d = v.domain;
    // A port beyond the domain's table is not valid (Xen's
    // `port_is_valid`); a free one in it is, and then the 2-level ABI has
    // no priorities (ENOSYS).
    if !d.evtchn.lock().port_is_valid(s.port) {
        return Err(Errno::EINVAL);
    }
    let mut fifo = d.fifo.lock();
    let Some(f) = fifo.as_mut() else { return Err(Errno::ENOSYS) };
    f.set_priority(s.port, s.priority).map_err(|_| Errno::EINVAL)?;
    Ok(0)
}

/// Raise `port` of `d` for `vcpu` under the FIFO ABI; `None` when the
/// domain uses the 2-level ABI, else whether the vCPU needs an upcall.
pub fn raise(d: &Domain, vcpu: usize, port: u32) -> Option<bool> {
    Some(d.fifo.lock().as_mut()?.set_pending(vcpu, port))
}

/// Unmask `port` under the FIFO ABI (see [`raise`]).
pub fn unmask(d: &Domain, vcpu: usize, port: u32) -> Option<bool> {
    Some(d.fifo.lock().as_mut()?.unmask(vcpu, port))
}

/// Clear `port`'s pending state under the FIFO ABI; false under 2-level.
pub fn clear(d: &Domain, port: u32) -> bool {
    match d.fifo.lock().as_mut() {
        Some(f) => {
            f.clear_pending(port);
            true
        }
        None => false,
    }
}

/// Drop the FIFO state (`EVTCHNOP_reset`): back to the 2-level ABI.
pub fn destroy(d: &Domain) {
    if let Some(f) = d.fifo.lock().take() {
        put_frames(&f.frames);
    }
}
