//! Virtual disks and networks of domUs on the reference system (Xen 4.17,
//! Debian's Linux as PV dom0 with `xen-blkback`, `xen-netback`, `loop` and
//! a bridge `xenbr0` at 10.0.0.1; our `xm`, `xenstored`, `xenconsoled`),
//! one boot on two CPUs for every check:
//!
//! * bad input (a missing image or device, an unknown bridge, a malformed
//!   MAC, a writable disk already used by another domain) gets one line,
//!   exit status 1, and leaves no domain, node, loop device or bridge port;
//! * `xm create` of a Linux domU whose root is an ext4 image (`file:`,
//!   xvda) with a second disk on a loop device (`phy:`, xvdb) and a vif on
//!   `xenbr0`: frontends and backends reach Connected, the guest boots from
//!   the ext4 root, pings dom0 and dom0 pings it, 64 MiB go over TCP to
//!   dom0 (busybox `nc`) with matching MD5 sums on both sides;
//! * `block-attach`/`network-attach` of a third disk and a second NIC seen
//!   by the guest, listed by `block-list`/`network-list`, then detached:
//!   gone from the guest and from dom0;
//! * data written to both disks survives `xm reboot` and `xm destroy` +
//!   `xm create`; `xm destroy` and `xm shutdown` leave nothing behind;
//! * the seeds' four configurations, verbatim (only `kernel`, `ramdisk`
//!   and `memory` overridden on the command line), create their domains
//!   with all their disks and NICs set up in dom0 (the paths they name made
//!   to exist: `phy:` volumes are loop devices behind symlinks); in two of
//!   them (`hdX` and `ioemu:sdX` names) the guest's frontends connect.
//!
//! Without access to Debian's archive the test prints `SKIPPED: ...` and
//! passes.
//!
//! Not part of `cargo xtask test` for now (run it with `cargo test -p
//! qemu-tests --test xm_devices -- --ignored`): it takes about 9 minutes,
//! over the suite's budget, and processes in the Xen reference dom0
//! occasionally die with a segmentation fault right after a fork under TCG,
//! which fails it at random.

use std::time::{Duration, Instant};

use qemu_tests::linux_dom0::{
    boot_or_skip, machine, LinuxDom0, DEVICE_DOMU_CONFIG, DEVICE_DOMU_IP, DEVICE_DOMU_ROOT, DEVICE_DOMU_ROOT_GZ,
    DOM0_IP, LINUX_DOMU_READY, SEEDS_DIR, XENCONSOLED_LOG, XENSTORED_LOG,
};
use qemu_tests::qemu::Machine;

/// Overrides that turn a seed's 2006 kernel into the test's Linux domU.
const SEED_OVERRIDES: &str = "kernel=/boot/vmlinuz ramdisk=/boot/domu-dev-initrd.cpio memory=96";

fn boot() -> Option<LinuxDom0> {
    boot_or_skip(&Machine { smp: 2, ..machine() })
}

/// The shell command printing guest `name`'s console log, printable.
fn cat_log(name: &str) -> String {
    format!("tr -d '\\033\\r' < /var/log/xen/console/guest-{name}.log; echo")
}

/// Poll `cmd` until its output contains `want` (at most `secs` seconds);
/// the last output when it does.
fn poll(sys: &mut LinuxDom0, cmd: &str, want: &str, secs: u64) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        let out = sys.sh_guest(cmd).stdout;
        if out.contains(want) {
            return Some(out);
        }
        sys.settle(Duration::from_secs(2));
    }
    None
}

/// [`poll`], panicking with dom0's logs when `want` never shows.
fn wait_for(sys: &mut LinuxDom0, cmd: &str, want: &str, secs: u64) -> String {
    if let Some(out) = poll(sys, cmd, want, secs) {
        return out;
    }
    let last = sys.sh_guest(cmd).stdout;
    let logs = sys.sh_guest(&format!("xm list; cat {XENCONSOLED_LOG}; dmesg | tail -30")).stdout;
    panic!("{cmd} never showed {want:?}; last output:\n{last}\nlogs:\n{logs}");
}

/// [`LinuxDom0::guest_answer`] (type `cmd` at guest `name`'s shell, which
/// answers `KEY=value`), panicking with dom0's logs when it never answers.
fn guest(sys: &mut LinuxDom0, name: &str, key: &str, cmd: &str, secs: u64) -> String {
    let answer = sys.guest_answer(name, key, cmd, Duration::from_secs(secs));
    match answer {
        Ok(Some(value)) => value,
        other => {
            let logs = sys.sh_guest(&format!("xm list; {}; cat {XENCONSOLED_LOG}; dmesg | tail -30", cat_log(name))).stdout;
            panic!("no {key}= from {name} for {cmd}: {other:?}\nlogs:\n{logs}");
        }
    }
}

/// What of the devices is left in dom0, one item a line: loop devices
/// (but `keep`'s), backend devices in sysfs, vif bridge ports, backend
/// nodes in xenstore. Empty when everything is torn down.
fn leftovers(sys: &mut LinuxDom0, keep: &str) -> String {
    sys.sh_ok(&format!(
        "{{ losetup -a | grep -v -E '{keep}'; ls /sys/bus/xen-backend/devices; ls /sys/class/net/*/brif 2>/dev/null | grep '^vif'; \
         for k in vbd vif; do xenstore-list /local/domain/0/backend/$k 2>/dev/null; done; }} | sort; true"
    ))
}

/// `cmd` fails with exactly the line `want` on stderr and leaves nothing:
/// the domains and the [`leftovers`] are as before.
fn refused(sys: &mut LinuxDom0, cmd: &str, want: &str, keep: &str) {
    let names = sys.xm_names();
    let before = leftovers(sys, keep);
    let o = sys.sh_guest(cmd);
    assert_eq!((o.exit_code, o.stderr.as_str()), (1, format!("{want}\n").as_str()), "{cmd}: {o:?}");
    assert_eq!(sys.xm_names(), names, "{cmd} left a domain");
    assert_eq!(leftovers(sys, keep), before, "{cmd} left devices");
}

/// Wait until nothing of the domUs' devices is left but `keep`'s loop
/// devices (teardown after a guest's own shutdown runs in xenconsoled).
fn all_gone(sys: &mut LinuxDom0, keep: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = leftovers(sys, keep);
        if left.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            let logs = sys.sh_guest(&format!("cat {XENCONSOLED_LOG}; dmesg | tail -20")).stdout;
            panic!("left behind:\n{left}\nlogs:\n{logs}");
        }
        sys.settle(Duration::from_secs(1));
    }
}

/// The frontend and backend states of every device of domain `id`, as
/// `kind/devid be fe` lines.
fn states(sys: &mut LinuxDom0, id: &str) -> String {
    sys.sh_ok(&format!(
        "for k in vbd vif; do for d in $(xenstore-list /local/domain/{id}/device/$k 2>/dev/null); do \
         echo $k/$d $(xenstore-read /local/domain/0/backend/$k/{id}/$d/state) $(xenstore-read /local/domain/{id}/device/$k/$d/state); \
         done; done"
    ))
}

/// Wait until the devices `must` of domain `id` are connected on both
/// ends; the states seen last when they never are.
fn connected(sys: &mut LinuxDom0, id: &str, must: &[&str], secs: u64) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let s = states(sys, id);
        if must.iter().all(|d| s.lines().any(|l| l == format!("{d} 4 4"))) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(s);
        }
        sys.settle(Duration::from_secs(2));
    }
}

/// Wait until every device of domain `id` is connected on both ends;
/// returns the devices.
fn all_connected(sys: &mut LinuxDom0, id: &str, secs: u64) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let s = states(sys, id);
        if !s.is_empty() && s.lines().all(|l| l.ends_with(" 4 4")) {
            return s.lines().map(|l| l.split(' ').next().unwrap_or("").to_string()).collect();
        }
        if Instant::now() > deadline {
            let logs = sys.sh_guest(&format!("xm list; dmesg | tail -30; cat {XENCONSOLED_LOG}")).stdout;
            panic!("devices of domain {id} not all connected:\n{s}\n{logs}");
        }
        sys.settle(Duration::from_secs(2));
    }
}

#[test]
#[ignore = "about 9 minutes, and flaky under TCG (see the module docs); run with --ignored"]
fn vbd_and_vif_on_xen() {
    let Some(mut sys) = boot() else { return };
    let started = Instant::now();
    let (cfg, _) = DEVICE_DOMU_CONFIG;
    let names0 = sys.xm_names();
    let free0 = sys.xm_free_mib();
    assert_eq!(sys.sh_ok("[ -d /sys/class/net/xenbr0/bridge ] && echo bridge"), "bridge\n", "no xenbr0 in dom0");
    sys.sh_ok(&format!(
        "gunzip -c {DEVICE_DOMU_ROOT_GZ} > {DEVICE_DOMU_ROOT} && dd if=/dev/urandom of=/var/xen/images/data.img bs=1M count=8 2>/dev/null \
         && losetup /dev/loop7 /var/xen/images/data.img"
    ));
    let keep = "/dev/loop7:";

    // Bad input: one line, nothing left.
    refused(
        &mut sys,
        &format!("xm create {cfg} name=bad1 \"disk=['file:/nonexistent.img,xvda,w']\""),
        "xm: disk file:/nonexistent.img: No such file or directory (os error 2)",
        keep,
    );
    refused(
        &mut sys,
        &format!("xm create {cfg} name=bad2 \"disk=['phy:/dev/nonexistent,xvda,w']\""),
        "xm: disk phy:/dev/nonexistent: No such file or directory (os error 2)",
        keep,
    );
    // The disks are set up before the vif fails: they go again.
    refused(
        &mut sys,
        &format!("xm create {cfg} name=bad3 \"vif=['bridge=nosuchbr']\""),
        "xm: vif 0: bridge 'nosuchbr' does not exist in dom0",
        keep,
    );
    sys.sh_ok("printf \"name = 'badmac'\\nkernel = '/boot/vmlinuz'\\nvif = [ 'mac=00:16:3e:01:02' ]\\n\" > /tmp/badmac.cfg");
    refused(
        &mut sys,
        "xm create /tmp/badmac.cfg",
        "xm: /tmp/badmac.cfg:3: vif \"mac=00:16:3e:01:02\": invalid MAC address '00:16:3e:01:02' (expected six hex octets like 00:16:3e:01:02:03)",
        keep,
    );

    // The domU: ext4 root on file:, a phy: disk, a vif.
    let t = Instant::now();
    let o = sys.sh_ok(&format!("xm create {cfg}"));
    assert!(o.starts_with("Started domain linux2 (id="), "{o}");
    let log = wait_for(&mut sys, &cat_log("linux2"), LINUX_DOMU_READY, 240);
    eprintln!("Linux domU on its ext4 root ready after {:.1?}", t.elapsed());
    assert!(log.contains("root=ext4"), "not on its ext4 root:\n{log}");
    let id = sys.sh_ok("xm domid linux2").trim().to_string();
    let devs = all_connected(&mut sys, &id, 60);
    assert_eq!(devs, ["vbd/51712", "vbd/51728", "vif/0"]);
    let be = sys.sh_ok(&format!(
        "for k in mode type physical-device; do xenstore-read /local/domain/0/backend/vbd/{id}/51728/$k; done"
    ));
    assert_eq!(be, "w\nphy\n7:7\n", "phy: disk backend");
    assert!(sys.sh_ok("losetup -a").contains(DEVICE_DOMU_ROOT));
    assert!(sys.sh_ok("ls /sys/class/net/xenbr0/brif").contains(&format!("vif{id}.0")));
    let sizes = guest(&mut sys, "linux2", "D1", "echo D1\"\"=$(cat /sys/block/xvda/size),$(cat /sys/block/xvdb/size)", 30);
    assert_eq!(sizes, "49152,16384");
    let mac = guest(&mut sys, "linux2", "M1", "echo M1\"\"=$(cat /sys/class/net/eth0/address)", 30);
    assert_eq!(mac, "00:16:3e:00:00:02");
    let list = sys.sh_ok("xm block-list linux2");
    assert_eq!(list.lines().count(), 3, "{list}");
    assert!(list.lines().nth(1).is_some_and(|l| l.starts_with("51712 ") && l.contains(&format!("/backend/vbd/{id}/51712"))), "{list}");
    let list = sys.sh_ok("xm network-list linux2");
    assert!(list.lines().nth(1).is_some_and(|l| l.contains("00:16:3e:00:00:02")), "{list}");

    // The network: ping both ways, 64 MiB over TCP with checksums.
    let ping = sys.sh_ok(&format!("ping -c 3 -W 5 {DEVICE_DOMU_IP}"));
    assert!(ping.contains(" 0% packet loss"), "{ping}");
    let p = guest(&mut sys, "linux2", "P1", &format!("ping -c 3 -W 5 {DOM0_IP} > /dev/null && echo P1\"\"=ok || echo P1\"\"=lost"), 30);
    assert_eq!(p, "ok");
    // 64 MiB over TCP: the guest sends its phy: disk (8 MiB of random
    // bytes from dom0's image) eight times; dom0 checksums what arrives
    // against eight copies of the image. The listener's input never ends
    // (busybox nc closes its sending half at the end of its input, and the
    // sender stops when it sees that).
    let want = sys.sh_ok("for i in 1 2 3 4 5 6 7 8; do cat /var/xen/images/data.img; done | md5sum");
    sys.sh_ok("rm -f /tmp/rx.bin; (sleep 900 | nc -l -p 5001 > /tmp/rx.bin) < /dev/null > /dev/null 2>&1 &");
    let times = guest(
        &mut sys,
        "linux2",
        "TX",
        &format!(
            "t0=$(cut -d\" \" -f1 /proc/uptime); for i in 1 2 3 4 5 6 7 8; do cat /dev/xvdb; done | nc {DOM0_IP} 5001 > /dev/null; \
             t1=$(cut -d\" \" -f1 /proc/uptime); echo T\"\"X=$t0 $t1"
        ),
        600,
    );
    wait_for(&mut sys, "wc -c < /tmp/rx.bin", "67108864", 60);
    let rx = sys.sh_ok("md5sum < /tmp/rx.bin; rm /tmp/rx.bin");
    assert_eq!(rx.split_whitespace().next(), want.split_whitespace().next(), "checksums differ");
    let rate = qemu_tests::linux_dom0::uptime_rate(64 << 20, &times);
    eprintln!("64 MiB domU -> dom0 over TCP: {rate:.1?} MB/s (guest time)");

    // Data on both disks, for the reboot and the re-creation.
    let w = guest(
        &mut sys,
        "linux2",
        "W1",
        "[ -b /dev/xvdb ] && [ -c /dev/urandom ] && echo tok-7391 > /root/token && echo raw-5820 | dd of=/dev/xvdb conv=fsync 2>/dev/null && sync && echo W1\"\"=done",
        30,
    );
    assert_eq!(w, "done");

    // A writable disk is not shared with a second domain.
    refused(
        &mut sys,
        &format!("xm create {cfg} name=other"),
        &format!("xm: disk file:{DEVICE_DOMU_ROOT}: already used by domain {id} in mode 'w' (use mode w! to share it writable)"),
        keep,
    );
    assert_eq!(all_connected(&mut sys, &id, 10), ["vbd/51712", "vbd/51728", "vif/0"], "linux2's devices are untouched");

    // Hot-plug: a third disk.
    sys.sh_ok("dd if=/dev/zero of=/var/xen/images/extra.img bs=1M count=4 2>/dev/null");
    sys.sh_ok("xm block-attach linux2 file:/var/xen/images/extra.img xvdc w");
    let size = guest(
        &mut sys,
        "linux2",
        "A1",
        "i=0; while [ ! -e /sys/block/xvdc ] && [ $i -lt 100 ]; do usleep 100000; i=$((i+1)); done; echo A1\"\"=$(cat /sys/block/xvdc/size)",
        60,
    );
    assert_eq!(size, "8192");
    let list = sys.sh_ok("xm block-list linux2");
    assert!(list.lines().any(|l| l.starts_with("51744 ")), "{list}");
    let o = sys.sh_guest("xm block-attach linux2 file:/var/xen/images/extra.img xvdc w");
    assert_eq!((o.exit_code, o.stderr.trim()), (1, format!("xm: domain {id} already has vbd xvdc").as_str()));
    sys.sh_ok("xm block-detach linux2 xvdc");
    let blocks = guest(
        &mut sys,
        "linux2",
        "A2",
        "i=0; while [ -e /sys/block/xvdc ] && [ $i -lt 100 ]; do usleep 100000; i=$((i+1)); done; echo A2\"\"=$(ls /sys/block | grep xvd | tr \"\\n\" ,)",
        60,
    );
    assert_eq!(blocks, "xvda,xvdb,");
    assert!(!sys.sh_ok("losetup -a").contains("extra.img"), "the loop device of the detached disk is left");
    assert_eq!(sys.sh_ok(&format!("xenstore-list /local/domain/0/backend/vbd/{id}")), "51712\n51728\n");

    // Hot-plug: a second NIC.
    sys.sh_ok("xm network-attach linux2 mac=00:16:3e:00:00:22 bridge=xenbr0");
    let mac = guest(
        &mut sys,
        "linux2",
        "N1",
        "i=0; while [ ! -e /sys/class/net/eth1 ] && [ $i -lt 100 ]; do usleep 100000; i=$((i+1)); done; echo N1\"\"=$(cat /sys/class/net/eth1/address)",
        60,
    );
    assert_eq!(mac, "00:16:3e:00:00:22");
    assert!(sys.sh_ok("ls /sys/class/net/xenbr0/brif").contains(&format!("vif{id}.1")));
    wait_for(&mut sys, &format!("xenstore-read /local/domain/{id}/device/vif/1/state"), "4", 60);
    let list = sys.sh_ok("xm network-list linux2");
    assert!(list.lines().any(|l| l.starts_with("1 ") && l.contains("00:16:3e:00:00:22")), "{list}");
    sys.sh_ok("xm network-detach linux2 00:16:3e:00:00:22");
    let nets = guest(
        &mut sys,
        "linux2",
        "N2",
        "i=0; while [ -e /sys/class/net/eth1 ] && [ $i -lt 100 ]; do usleep 100000; i=$((i+1)); done; echo N2\"\"=$(ls /sys/class/net | tr \"\\n\" ,)",
        60,
    );
    assert_eq!(nets, "eth0,lo,");
    assert!(!sys.sh_ok("ls /sys/class/net").contains(&format!("vif{id}.1")));
    let o = sys.sh_guest("xm network-detach linux2 7");
    assert_eq!((o.exit_code, o.stderr.trim()), (1, format!("xm: domain {id} has no vif '7'").as_str()));

    // Reboot: the data is still there, the old domain's devices are gone.
    sys.sh_ok("xm reboot linux2");
    let again = "[ $(grep -c LINUX-DOMU-READY /var/log/xen/console/guest-linux2.log) -ge 2 ] && echo rebooted";
    wait_for(&mut sys, again, "rebooted", 240);
    let id2 = sys.sh_ok("xm domid linux2").trim().to_string();
    assert_ne!(id, id2);
    let r = guest(&mut sys, "linux2", "R1", "[ -b /dev/xvdb ] && echo R1\"\"=$(cat /root/token),$(head -c 8 /dev/xvdb)", 30);
    assert_eq!(r, "tok-7391,raw-5820");
    assert_eq!(sys.sh_ok("xenstore-list /local/domain/0/backend/vbd"), format!("{id2}\n"));

    // Destroy: nothing left; create again: the data is still there.
    sys.sh_ok("xm destroy linux2");
    assert_eq!(sys.xm_names(), names0);
    all_gone(&mut sys, keep);
    sys.sh_ok(&format!("xm create {cfg}"));
    let again = "[ $(grep -c LINUX-DOMU-READY /var/log/xen/console/guest-linux2.log) -ge 3 ] && echo created";
    wait_for(&mut sys, again, "created", 240);
    let r = guest(&mut sys, "linux2", "R2", "[ -b /dev/xvdb ] && echo R2\"\"=$(cat /root/token),$(head -c 8 /dev/xvdb)", 30);
    assert_eq!(r, "tok-7391,raw-5820");
    sys.sh_ok("xm shutdown -w linux2");
    assert_eq!(sys.xm_names(), names0);
    all_gone(&mut sys, keep);
    eprintln!("device domU checks done after {:.1?}", started.elapsed());

    // The seeds' configurations, verbatim, with the paths they name.
    sys.sh_ok(
        "mkdir -p /dev/mapper /dev/xenimages /var/xen/domU1 /home/matthias/xen /usr/local && \
         for f in slash slashhome noc; do dd if=/dev/zero of=/tmp/$f.img bs=1M count=2 2>/dev/null; done && \
         L=$(losetup -f) && losetup $L /tmp/slash.img && ln -s $L /dev/mapper/vg01-domU1slash && \
         L=$(losetup -f) && losetup $L /tmp/slashhome.img && ln -s $L /dev/mapper/vg01-domU1slashhome && \
         L=$(losetup -f) && losetup $L /tmp/noc.img && ln -s $L /dev/xenimages/noc.grid && \
         for f in /var/xen/domU1/swap01.swp /usr/local/serv1.ext3 /home/matthias/xen/demo1 /home/matthias/xen/swap; do \
         dd if=/dev/zero of=$f bs=1M count=2 2>/dev/null; done && \
         for b in xen-br0 xenbr1; do brctl addbr $b && ip link set $b up; done",
    );
    let keep = "/dev/loop7:|/tmp/(slash|slashhome|noc).img";
    let seeds = [
        ("000-nluug-mijndomul.cfg", "mijndomul", vec!["vbd/769", "vbd/770", "vbd/771", "vif/0"], "xen-br0"),
        ("001-latvian-serv1.cfg", "serv1", vec!["vbd/2049", "vif/0"], "xenbr0"),
        ("003-p2v-demo1.cfg", "demo1", vec!["vbd/769", "vbd/770", "vif/0"], "xenbr0"),
        ("004-aoe-noc.grid.cfg", "noc.grid", vec!["vbd/2049", "vif/0"], "xenbr1"),
    ];
    let t = Instant::now();
    let mut ids = Vec::new();
    for (file, name, _, _) in &seeds {
        let o = sys.sh_guest(&format!("xm create {SEEDS_DIR}/{file} {SEED_OVERRIDES}"));
        assert_eq!(o.exit_code, 0, "{file}: {o:?}");
        assert!(o.stdout.starts_with(&format!("Started domain {name} (id=")), "{o:?}");
        ids.push(sys.sh_ok(&format!("xm domid {name}")).trim().to_string());
    }
    // Every device is set up in dom0 (backends probed, vifs on their
    // bridges); the frontends of two of them (hdX and ioemu:sdX names) are
    // then seen to connect, the other two are destroyed at once (CI time).
    for ((file, _, devs, bridge), id) in seeds.iter().zip(&ids) {
        assert!(sys.sh_ok(&format!("ls /sys/class/net/{bridge}/brif")).contains(&format!("vif{id}.0")), "{file}: vif not on {bridge}");
        let s = states(&mut sys, id);
        let listed: Vec<&str> = s.lines().map(|l| l.split(' ').next().unwrap_or("")).collect();
        assert_eq!(&listed, devs, "{file}: {s}");
        // Probed: the kernel backend moved on from Initialising (1).
        assert!(s.lines().all(|l| l.split(' ').nth(1).is_some_and(|be| !be.is_empty() && be != "1")), "{file}: backends not probed:\n{s}");
    }
    let mac = sys.sh_ok(&format!("xenstore-read /local/domain/{}/device/vif/0/mac", ids[3]));
    assert_eq!(mac, "00:16:3e:00:00:13\n");
    let params = sys.sh_ok(&format!("xenstore-read /local/domain/0/backend/vbd/{}/769/params", ids[2]));
    assert_eq!(params, "/home/matthias/xen/demo1\n");
    for (_, name, _, _) in &seeds[2..] {
        sys.sh_ok(&format!("xm destroy {name}"));
    }
    // Linux 6.1's blkfront connects the first partition-style vbd of an
    // emulated disk (hda1) and closes the next ones (hda2, hda3: frontend
    // and backend end in Closing): only the first disk and the NIC of the
    // first seed are required to connect.
    let must = [vec!["vbd/769", "vif/0"], vec!["vbd/2049", "vif/0"]];
    for (((file, ..), id), must) in seeds[..2].iter().zip(&ids).zip(&must) {
        connected(&mut sys, id, must, 300).unwrap_or_else(|s| panic!("{file}: not connected:\n{s}"));
    }
    eprintln!("seeds created and connected after {:.1?}", t.elapsed());
    for (_, name, _, _) in &seeds[..2] {
        sys.sh_ok(&format!("xm destroy {name}"));
    }
    assert_eq!(sys.xm_names(), names0);
    all_gone(&mut sys, keep);
    sys.sh_ok("for l in $(losetup -a | grep /tmp/ | cut -d: -f1); do losetup -d $l; done; losetup -d /dev/loop7");
    all_gone(&mut sys, "^$");
    assert_eq!(sys.xm_free_mib(), free0);

    let log = sys.sh_ok(&format!("cat {XENSTORED_LOG}"));
    eprintln!("xenstored log:\n{log}");
    eprintln!("all device checks done after {:.1?}", started.elapsed());
    sys.shutdown().unwrap();
}
