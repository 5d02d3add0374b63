//! placeholder
#![no_std]
#![no_main]
pv_guests::entry!(main);
fn main(_: &'static pv_guests::StartInfo) {}
