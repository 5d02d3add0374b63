//! Debian's Linux 6.1 as PV dom0, on our hypervisor and on Xen 4.17, from
//! one test body: the same GRUB image contents (kernel, the busybox
//! initramfs with our toolstack) and the same QEMU machine. What dom0 sees
//! of its hypervisor is compared line for line; lines marked specific are
//! allowed to differ, each with its reason. Then `poweroff -f` in dom0
//! must power the machine off through the hypervisor.

use std::time::Duration;

use qemu_tests::linux_dom0::{boot_host_or_skip, machine, without_xen, Host, LinuxDom0};

/// One fact dom0 observes: a name, the shell command, and why it may differ
/// between hypervisors (`None`: it must not).
struct Probe {
    name: &'static str,
    cmd: &'static str,
    specific: Option<&'static str>,
}

const PROBES: &[Probe] = &[
    Probe { name: "capabilities", cmd: "cat /proc/xen/capabilities", specific: None },
    Probe { name: "dev_xen", cmd: "ls /dev/xen", specific: None },
    Probe { name: "hypervisor_type", cmd: "cat /sys/hypervisor/type", specific: None },
    Probe { name: "version", cmd: "cat /sys/hypervisor/version/major /sys/hypervisor/version/minor", specific: None },
    Probe { name: "version_extra", cmd: "cat /sys/hypervisor/version/extra", specific: Some("names the build") },
    Probe { name: "features", cmd: "cat /sys/hypervisor/properties/features", specific: None },
    Probe { name: "pagesize", cmd: "cat /sys/hypervisor/properties/pagesize", specific: None },
    Probe {
        name: "xen_capabilities",
        cmd: "cat /sys/hypervisor/properties/capabilities",
        specific: Some("Xen also runs 32-bit PV and HVM guests; ours runs 64-bit PV only"),
    },
    Probe { name: "cpus", cmd: "grep -c ^processor /proc/cpuinfo", specific: None },
    Probe {
        name: "clocksource",
        cmd: "cat /sys/devices/system/clocksource/clocksource0/current_clocksource",
        specific: None,
    },
    Probe {
        name: "evtchn_abi",
        cmd: "dmesg | grep -o 'xen:events: Using .*'",
        specific: None,
    },
    Probe {
        name: "pirqs",
        cmd: "grep xen-pirq /proc/interrupts | awk '{print $1, $3, $4, $5}' | tr '\\n' ';'; echo",
        specific: None,
    },
    Probe {
        name: "percpu_and_dyn_irqs",
        cmd: "grep -E 'xen-percpu|xen-dyn' /proc/interrupts | awk '{print $3, $4, $5}' | tr '\\n' ';'; echo",
        specific: None,
    },
    Probe { name: "pci_devices", cmd: "ls /sys/bus/pci/devices", specific: None },
    Probe { name: "pci_add_failures", cmd: "dmesg | grep -c 'Failed to add'", specific: None },
    Probe { name: "timer_virq", cmd: "grep -o 'xen-percpu *-virq *timer0' /proc/interrupts", specific: None },
    Probe { name: "console_virq", cmd: "grep -c 'hvc_console' /proc/interrupts", specific: None },
    Probe { name: "kernel", cmd: "uname -r", specific: None },
    Probe { name: "fpu", cmd: "dmesg | grep -o 'x86/fpu: Enabled xstate features .*'", specific: None },
    Probe {
        name: "cpu_flags",
        cmd: "grep -m1 ^flags /proc/cpuinfo | tr ' ' '\\n' | grep -x -E 'fpu|pse|pge|mtrr|sse2|xsave|avx|avx2|hypervisor|fsgsbase|x2apic|pcid' | tr '\\n' ' '; echo",
        specific: None,
    },
    Probe { name: "arith", cmd: "echo $((6*7))", specific: None },
    Probe {
        name: "xm_info",
        cmd: "xm info | grep -E '^(nr_cpus|max_cpu_id|nr_nodes|threads_per_core|cores_per_socket|xen_major|xen_minor|xen_pagesize|platform_params)'",
        specific: None,
    },
    Probe {
        name: "xm_info_specific",
        cmd: "xm info | grep -E '^(xen_caps|xen_scheduler|xen_extra)'",
        specific: Some("capabilities and scheduler: ours runs 64-bit PV only, one vCPU per CPU"),
    },
    Probe { name: "xm_list", cmd: "xm list | awk '{print $1, $2, $3, $4}'", specific: None },
    Probe { name: "xm_dmesg", cmd: "xm dmesg | grep -c 'Command line'", specific: None },
    Probe { name: "privcmd_open", cmd: "exec 3</dev/xen/privcmd && echo opened", specific: None },
];

/// The transcript of what dom0 on `host` observes.
fn observe(sys: &mut LinuxDom0) -> Vec<(String, String)> {
    PROBES
        .iter()
        .map(|p| {
            let out = sys.sh(p.cmd);
            let text = without_xen(&out.stdout).trim().replace('\n', " ");
            (p.name.to_string(), format!("{text} (exit {})", out.exit_code))
        })
        .collect()
}

fn run_on(host: Host) -> Option<(Vec<(String, String)>, String)> {
    let mut sys = boot_host_or_skip(host, &machine())?;
    let facts = observe(&mut sys);
    let ending = sys
        .run_until_exit("poweroff -f", Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("dom0 on {} did not power the machine off: {e:#}", host.name()));
    Some((facts, ending))
}

#[test]
fn linux_dom0_on_ours_matches_xen() {
    // The two machines boot side by side (one vCPU each); both runs end
    // (and stop their QEMU) before any failure is reported.
    let xen = std::thread::spawn(|| run_on(Host::Xen));
    let ours = std::thread::spawn(|| run_on(Host::Ours));
    let (xen, ours) = (xen.join(), ours.join());
    let ours = ours.unwrap_or_else(|e| std::panic::resume_unwind(e));
    let xen = xen.unwrap_or_else(|e| std::panic::resume_unwind(e));
    let (Some((xen, _)), Some((ours, ours_end))) = (xen, ours) else { return };
    let mut diffs = Vec::new();
    for ((p, (name, x)), (_, o)) in PROBES.iter().zip(&xen).zip(&ours) {
        println!("{name}: xen: {x} | ours: {o}");
        if p.specific.is_none() && x != o {
            diffs.push(format!("{name}: Xen 4.17 {x:?}, ours {o:?}"));
        }
    }
    assert!(diffs.is_empty(), "dom0 sees a different hypervisor:\n{}", diffs.join("\n"));
    let facts: std::collections::HashMap<_, _> = ours.into_iter().collect();
    assert!(facts["capabilities"].starts_with("control_d"), "{:?}", facts["capabilities"]);
    assert!(facts["arith"].starts_with("42"), "{:?}", facts["arith"]);
    assert!(
        ours_end.contains("powering off"),
        "our hypervisor did not report the power-off:\n{ours_end}"
    );
}

/// A Linux dom0 that crashes (a kernel panic forced through sysrq) leaves
/// its last console lines and a register dump on the console, and the
/// hypervisor, not the guest, decides what happens next: with `noreboot`
/// it reports the crash and stays up, halted, as Xen 4.17 does.
#[test]
fn linux_dom0_crash_leaves_a_register_dump() {
    let Some(mut sys) = boot_host_or_skip(Host::Ours, &machine()) else { return };
    let from = sys.log().len();
    sys.type_text("echo c > /proc/sysrq-trigger\n").expect("typing at dom0");
    // Nudge with empty lines (as commands are) until the crash is reported.
    for _ in 0..45 {
        sys.settle(Duration::from_secs(2));
        if sys.log()[from..].contains("not rebooting") {
            break;
        }
        let _ = sys.type_text("\n");
    }
    sys.settle(Duration::from_secs(1));
    let out = &sys.log()[from..];
    assert!(out.contains("Kernel panic"), "dom0 did not panic:\n{out}");
    for needle in ["requested a crash", "guest state (kernel mode)", "RIP: e033:", "'noreboot' set - not rebooting"] {
        assert!(out.contains(needle), "no {needle:?} after dom0's crash:\n{out}");
    }
    sys.shutdown().expect("stopping QEMU");
}
