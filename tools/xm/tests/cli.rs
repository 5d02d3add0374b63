//! Runs the built `xm` binary.

use std::path::PathBuf;
use std::process::{Command, Output};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn xm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xm"))
        .args(args)
        .env("XM_PRIVCMD", "/nonexistent/xen/privcmd")
        .output()
        .expect("run xm")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const GUEST1: &str = "\
(vm
    (name guest1)
    (memory 256)
    (maxmem 512)
    (vcpus 2)
    (cpus 0-1,3)
    (cpu_weight 512)
    (cpu_cap 100)
    (on_poweroff destroy)
    (on_reboot restart)
    (on_crash preserve)
    (image (linux (kernel /boot/vmlinuz-2.6-xenU) (ramdisk /boot/initrd-2.6-xenU.img) (root '/dev/hda1 ro') (args 'console=hvc0 xencons=tty')))
    (device (vbd (uname phy:/dev/vg/x) (dev hda1) (mode w)))
    (device (vbd (uname file:/var/xen/swap) (dev hda2) (mode w)))
    (device (vif (mac 00:16:3e:01:02:03) (bridge xenbr0)))
)
";

#[test]
fn create_dryrun_prints_the_domain() {
    let cfg = data("guest1.cfg");
    for flag in ["-n", "--dryrun"] {
        let out = xm(&["create", flag, cfg.to_str().unwrap()]);
        assert!(out.status.success(), "stderr: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), GUEST1);
        assert_eq!(text(&out.stderr), "");
    }
}

#[test]
fn create_dryrun_with_overrides() {
    let cfg = data("guest1.cfg");
    let out = xm(&[
        "create",
        "-n",
        cfg.to_str().unwrap(),
        "memory=384",
        "name=foo",
        "frob=1",
    ]);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("\n    (name foo)\n    (memory 384)\n"),
        "{stdout}"
    );
    assert_eq!(
        text(&out.stderr),
        "xm: command-line override 'frob=1': warning: unknown key 'frob' ignored\n"
    );
}

#[test]
fn bad_config_names_file_and_line() {
    let cfg = data("bad.cfg");
    let out = xm(&["create", "-n", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out.stdout, b"");
    assert_eq!(
        text(&out.stderr),
        format!(
            "xm: {}:5: 'memory' must be an integer (MiB), found \"lots\"\n",
            cfg.display()
        )
    );
}

#[test]
fn missing_config_file() {
    let out = xm(&["create", "-n", "/nonexistent/guest.cfg"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("xm: cannot read /nonexistent/guest.cfg: "),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn create_without_dryrun_fails_clearly() {
    let cfg = data("guest1.cfg");
    let out = xm(&["create", cfg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(
        err,
        "xm: create: kernel image '/boot/vmlinuz-2.6-xenU' not found\n"
    );
    // With the kernel present, the next thing missing is the hypervisor.
    let dir = std::env::temp_dir().join(format!("xm-cli-create-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kernel = dir.join("vmlinuz");
    std::fs::write(&kernel, b"not even an ELF").unwrap();
    let ramdisk = dir.join("initrd");
    std::fs::write(&ramdisk, b"rd").unwrap();
    let out = xm(&[
        "create",
        cfg.to_str().unwrap(),
        &format!("kernel={}", kernel.display()),
        &format!("ramdisk={}", ramdisk.display()),
    ]);
    std::fs::remove_dir_all(&dir).unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("/nonexistent/xen/privcmd not present"), "{err}");
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn commands_without_privcmd_fail_clearly() {
    for args in [
        &["list"][..],
        &["info"],
        &["list", "-l", "guest1"],
        &["destroy", "guest1"],
        &["vcpu-pin", "g", "0", "1"],
        &["save", "g", "/tmp/g.save"],
        &["migrate", "-p", "8002", "-l", "g", "host"],
    ] {
        let out = xm(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(out.stdout, b"");
        let expected =
            "xm: /nonexistent/xen/privcmd not present: are we running in a Xen dom0 with the xen-privcmd driver loaded?\n"
                .to_string();
        assert_eq!(text(&out.stderr), expected);
    }
}

#[test]
fn commands_with_privcmd_say_not_implemented() {
    // Any existing path stands in for the device.
    let out = Command::new(env!("CARGO_BIN_EXE_xm"))
        .args(["top"])
        .env("XM_PRIVCMD", env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("xm: 'top' is not implemented yet"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn help_and_version_succeed() {
    let out = xm(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for cmd in [
        "create",
        "list",
        "sched-credit",
        "vcpu-pin",
        "migrate",
        "top",
    ] {
        assert!(help.contains(cmd), "{cmd} missing from help");
    }
    assert!(xm(&["--version"]).status.success());
}
