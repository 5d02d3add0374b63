//! `xm restore` of bad images and `xm migrate`/`xm serve` argument errors,
//! on the host: an image is checked before the hypervisor is touched, so
//! each is refused with one line even outside dom0.

use std::process::{Command, Output};

fn xm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xm"))
        .args(args)
        .env("XM_PRIVCMD", "/nonexistent/xen/privcmd")
        .output()
        .expect("run xm")
}

fn one_line_error(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

#[test]
fn bad_images_are_refused_with_one_line() {
    let dir = std::env::temp_dir().join(format!("xm-save-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.save");
    let err = one_line_error(&xm(&["restore", missing.to_str().unwrap()]));
    assert!(err.starts_with(&format!("xm: {}: ", missing.display())), "{err}");

    let garbage = dir.join("garbage.save");
    std::fs::write(&garbage, b"this is not a saved domain, not even close to one").unwrap();
    let err = one_line_error(&xm(&["restore", garbage.to_str().unwrap()]));
    assert!(err.starts_with("xm: corrupted image: not a Xen saved domain"), "{err}");

    let short = dir.join("short.save");
    std::fs::write(&short, b"Xen saved domain, xl format\n \0 \r\x04\x03").unwrap();
    let err = one_line_error(&xm(&["restore", short.to_str().unwrap()]));
    assert_eq!(err, "xm: truncated image: it ends inside the xl header\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn migrate_syntax() {
    // Cluster managers call `xm migrate -p PORT -l DOM HOST`; without the
    // hypervisor it fails on the device, not on the syntax.
    let err = one_line_error(&xm(&["migrate", "-p", "8002", "-l", "g", "h"]));
    assert!(err.contains("/nonexistent/xen/privcmd not present"), "{err}");
    let out = xm(&["migrate", "-p", "notaport", "g", "h"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = xm(&["migrate", "g"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
