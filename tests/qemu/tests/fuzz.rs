//! A short run of the hypercall fuzzer (`cargo xtask fuzz` runs it for
//! longer): fixed seeds, so a failure is reproducible with
//! `cargo xtask fuzz --seed S`. The host must neither crash nor hang, the
//! runs must finish, and dom0's reservation must end where it started.

use qemu_tests::fixture::hypervisor_elf;
use qemu_tests::fuzz::{run_seed, Outcome};

#[test]
fn fuzz_short_run_leaves_the_host_standing() {
    let kernel = qemu_tests::build::guest("fuzz").expect("the fuzz kernel builds");
    for seed in [1u64, 3] {
        let run = run_seed(&hypervisor_elf(), &kernel, seed, 20_000).expect("booting the fuzz kernel");
        match &run.outcome {
            Outcome::Done { calls, distinct, pages } => {
                println!("seed {seed}: {calls} calls, {distinct} distinct (hypercall, sub-op, errno), {:.1?}", run.elapsed);
                assert_eq!(pages.0, pages.1, "seed {seed}: dom0's reservation changed");
                assert!(*distinct > 100, "seed {seed}: too few distinct answers ({distinct})");
            }
            other => panic!("seed {seed}: {other:?}\nserial log:\n{}", run.log),
        }
    }
}
