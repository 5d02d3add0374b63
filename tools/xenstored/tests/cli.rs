//! The `xenstore` command-line client against the real `xenstored` on a
//! temporary socket: output formats, exit statuses, watches.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::Daemon;

impl Daemon {
    /// `xenstore ARGS` with `$XENSTORED_PATH` pointing at this daemon.
    fn cmd(&self, args: &str) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_xenstore"));
        c.env("XENSTORED_PATH", &self.socket).args(args.split_whitespace());
        c
    }

    fn run(&self, args: &str) -> Output {
        self.cmd(args).output().unwrap()
    }
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{o:?}");
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn read_write_ls_rm() {
    let d = Daemon::start("rw");
    assert_eq!(stdout(&d.run("read /local/domain/0/name")), "Domain-0\n");
    stdout(&d.run("write /vm/1/name guest /vm/1/memory 128"));
    assert_eq!(stdout(&d.run("read -p /vm/1/name /vm/1/memory")), "/vm/1/name: guest\n/vm/1/memory: 128\n");
    assert_eq!(stdout(&d.run("list /vm/1")), "name\nmemory\n");
    assert_eq!(stdout(&d.run("ls /vm")), "1 = \"\"\n name = \"guest\"\n memory = \"128\"\n");
    assert_eq!(stdout(&d.run("ls -f /vm/1")), "/vm/1/name = \"guest\"\n/vm/1/memory = \"128\"\n");
    assert!(d.run("exists /vm/1/name").status.success());
    assert_eq!(d.run("exists /vm/2").status.code(), Some(1));

    let o = d.run("read /nonexistent");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "xenstore: couldn't read path /nonexistent: no such entry (ENOENT)\n"
    );
    stdout(&d.run("mkdir /vm/2/device"));
    assert_eq!(stdout(&d.run("list /vm")), "1\n2\n");
    stdout(&d.run("rm -t /vm/2/device"));
    assert_eq!(stdout(&d.run("list /vm")), "1\n");
    stdout(&d.run("rm /vm"));
    assert_eq!(d.run("read /vm/1/name").status.code(), Some(1));
    assert_eq!(d.run("frobnicate").status.code(), Some(2));
}

#[test]
fn escapes_and_raw_values() {
    let d = Daemon::start("esc");
    let mut c = d.client();
    c.write(xenstore::client::TxId::NONE, "/v", b"a\tb\\c\x01").unwrap();
    assert_eq!(stdout(&d.run("read /v")), "a\\tb\\\\c\\001\n");
    assert_eq!(stdout(&d.run("read -R /v")), "a\tb\\c\x01\n");
}

#[test]
fn chmod_getperms_and_ls_p() {
    let d = Daemon::start("perms");
    stdout(&d.run("write /guest/a 1 /guest/a/b 2"));
    stdout(&d.run("chmod -r /guest n5 r0"));
    assert_eq!(stdout(&d.run("getperms /guest/a/b")), "n5 r0\n");
    let ls = stdout(&d.run("ls -p /guest"));
    let first = ls.lines().next().unwrap();
    assert!(first.starts_with("a = \"1\"  . . ") && first.ends_with("  (n5,r0)"), "{ls}");
    assert_eq!(first.len(), 60 + "  (n5,r0)".len(), "{ls}");
    let o = d.run("chmod /guest x5");
    assert_eq!(o.status.code(), Some(1), "{o:?}");
}

#[test]
fn watch_prints_n_events() {
    let d = Daemon::start("watch");
    let child = d.cmd("watch -n 3 /w").stdout(Stdio::piped()).spawn().unwrap();
    // Wait until the watch is registered (its first event needs no write).
    std::thread::sleep(Duration::from_millis(300));
    let mut c = d.client();
    c.write(xenstore::client::TxId::NONE, "/w/x", b"1").unwrap();
    c.write(xenstore::client::TxId::NONE, "/w", b"2").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(stdout(&o), "/w\n/w/x\n/w\n");
}

#[test]
fn multi_call_name() {
    let d = Daemon::start("link");
    let link = d.dir.join("xenstore-read");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_xenstore"), &link).unwrap();
    let o = Command::new(&link).env("XENSTORED_PATH", &d.socket).arg("/local/domain/0/domid").output().unwrap();
    assert_eq!(stdout(&o), "0\n");
}

#[test]
fn bench_reports_three_lines() {
    let d = Daemon::start("bench");
    let out = stdout(&d.run(&format!("--socket {} bench", d.socket.display())));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("xenstore reads/s:") && lines[2].starts_with("xenstore watch latency (us):"), "{out}");
}
