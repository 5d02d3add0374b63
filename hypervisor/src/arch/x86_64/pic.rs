//! The legacy 8259A interrupt controllers: remapped away from the exception
//! vectors (the BIOS leaves IRQ0 on vector 8, the #DF vector) and fully
//! masked. Interrupts come through the local APIC and IOAPICs.

use x86_64::instructions::port::Port;

/// Vector of IRQ0 after remapping; IRQ8 is at `+ 8`.
pub const PIC_VECTOR_BASE: u8 = 0x20;

/// Remap both PICs to [`PIC_VECTOR_BASE`] and mask every line.
pub fn disable() {
    let mut master_cmd: Port<u8> = Port::new(0x20);
    let mut master_data: Port<u8> = Port::new(0x21);
    let mut slave_cmd: Port<u8> = Port::new(0xa0);
    let mut slave_data: Port<u8> = Port::new(0xa1);
    // SAFETY: the standard 8259A initialisation sequence on its fixed
    // ports; the hypervisor owns the PICs.
    unsafe {
        master_cmd.write(0x11); // ICW1: init, ICW4 follows
        slave_cmd.write(0x11);
        master_data.write(PIC_VECTOR_BASE); // ICW2: vector base
        slave_data.write(PIC_VECTOR_BASE + 8);
        master_data.write(0x04); // ICW3: slave on IRQ2
        slave_data.write(0x02);
        master_data.write(0x01); // ICW4: 8086 mode
        slave_data.write(0x01);
        master_data.write(0xff); // mask everything
        slave_data.write(0xff);
    }
}
