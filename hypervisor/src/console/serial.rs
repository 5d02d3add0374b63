//! COM1 through the `uart_16550` driver.

use crate::sync::Mutex;
use uart_16550::backend::PioBackend;
use uart_16550::{BaudRate, Config, Uart16550};

/// I/O base of COM1.
pub const COM1_PORT: u16 = 0x3f8;

static COM1: Mutex<Option<Uart16550<PioBackend>>> = Mutex::new(None);

/// Initialise COM1 at `baud`; returns false when no UART answers.
pub fn init(baud: u32) -> bool {
    // SAFETY: 0x3f8..0x3ff are the standard COM1 registers and only this
    // module touches them.
    let Ok(mut uart) = (unsafe { Uart16550::new_port(COM1_PORT) }) else {
        return false;
    };
    let config = Config { baud_rate: BaudRate::Custom(baud), ..Config::DEFAULT };
    if uart.init(config).is_err() {
        return false;
    }
    *COM1.lock() = Some(uart);
    true
}

/// Send bytes, translating `\n` to `\r\n`.
pub fn write(bytes: &[u8]) {
    let mut guard = match COM1.try_lock() {
        Some(g) => g,
        None => return,
    };
    if let Some(uart) = guard.as_mut() {
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            match line.split_last() {
                Some((b'\n', body)) => {
                    uart.send_bytes_exact(body);
                    uart.send_bytes_exact(b"\r\n");
                }
                _ => uart.send_bytes_exact(line),
            }
        }
    }
}

/// Take the bytes COM1 has received, up to `buf.len()`.
pub fn read_available(buf: &mut [u8]) -> usize {
    let mut guard = COM1.lock();
    let Some(uart) = guard.as_mut() else { return 0 };
    let mut n = 0;
    while n < buf.len() {
        match uart.try_receive_byte() {
            Ok(b) => {
                buf[n] = b;
                n += 1;
            }
            Err(_) => break,
        }
    }
    n
}

/// Enable COM1's receive-data interrupt (IER bit 0) and the OUT2 line that
/// gates the UART's interrupt onto the ISA bus.
pub fn enable_rx_interrupt() {
    let _guard = COM1.lock();
    // SAFETY: COM1's interrupt-enable and modem-control registers; the
    // lock keeps the driver from touching the UART meanwhile.
    unsafe {
        let mut ier = x86_64::instructions::port::Port::<u8>::new(COM1_PORT + 1);
        let mut mcr = x86_64::instructions::port::Port::<u8>::new(COM1_PORT + 4);
        let v = ier.read();
        ier.write(v | 1);
        let v = mcr.read();
        mcr.write(v | 0x08);
    }
}
