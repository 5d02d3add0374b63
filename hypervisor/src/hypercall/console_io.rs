//! `console_io`: the control domain writes to the hypervisor console and
//! reads its input. Other domains get `EPERM`, as from a release build of
//! Xen 4.17 (its XSM default lets only privileged domains use the
//! hypervisor console; a domU's console is its console ring).

use dom0_abi::console_io::{CONSOLEIO_read, CONSOLEIO_write};
use dom0_abi::Errno;

use super::{err, HcResult};
use crate::arch::x86_64::uaccess::{copy_from_guest, copy_to_guest};
use crate::domain::Vcpu;

const CHUNK: usize = 128;

/// `console_io(cmd, count, buffer)`.
pub fn console_io(v: &mut Vcpu, cmd: u32, count: u64, buffer: u64) -> HcResult {
    let count = count as u32 as u64;
    if !v.domain.is_privileged {
        return err(Errno::EPERM);
    }
    match cmd {
        CONSOLEIO_write => {
            let mut done = 0;
            let mut buf = [0u8; CHUNK];
            while done < count {
                let n = (count - done).min(CHUNK as u64) as usize;
                copy_from_guest(&mut buf[..n], buffer + done).map_err(|_| Errno::EFAULT)?;
                let mut c = crate::console::CONSOLE.lock();
                c.write_raw(&buf[..n]);
                done += n as u64;
            }
            Ok(0)
        }
        CONSOLEIO_read => {
            // The result is a count or an errno: Xen refuses counts that
            // could not be told from one.
            if count > i32::MAX as u64 {
                return err(Errno::E2BIG);
            }
            let mut buf = [0u8; CHUNK];
            let n = crate::console::input::read(&mut buf[..(count.min(CHUNK as u64) as usize)]);
            if n > 0 {
                copy_to_guest(buffer, &buf[..n]).map_err(|_| Errno::EFAULT)?;
            }
            Ok(n as i64)
        }
        _ => err(Errno::ENOSYS),
    }
}
