//! The real `xenstored` binary on a temporary socket, for the integration
//! tests that drive it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use xenstore::client::Client;

/// The daemon, killed (and its directory removed) on drop.
pub struct Daemon {
    child: Child,
    /// Its unix socket.
    pub socket: PathBuf,
    /// A directory of its own, holding the socket.
    pub dir: PathBuf,
}

impl Daemon {
    /// Start a daemon in a directory named after the test (`name`) and
    /// wait until it accepts connections.
    pub fn start(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("xenstored-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("socket");
        let child = Command::new(env!("CARGO_BIN_EXE_xenstored"))
            .args(["--no-domains", "--socket"])
            .arg(&socket)
            .stderr(Stdio::null())
            .spawn()
            .expect("start xenstored");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Client::connect(&socket).is_err() {
            assert!(Instant::now() < deadline, "xenstored did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
        Daemon { child, socket, dir }
    }

    /// A client connected to this daemon.
    pub fn client(&self) -> Client {
        Client::connect(&self.socket).unwrap()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
