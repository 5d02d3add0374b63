//! A xenstored on a temporary socket, in a thread of the test process: the
//! fixture of xm's unit tests that talk to a store.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use xenstore::client::Client;

/// A running in-process xenstored; stopped and its socket removed on drop.
pub struct TestXenstored {
    /// Its unix socket.
    pub socket: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestXenstored {
    /// Start one; `name` keeps parallel tests' sockets apart.
    pub fn start(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("xm-test-xs-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("socket");
        let config = xenstore::daemon::Config { socket: socket.clone(), domains: false, ..Default::default() };
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        // The daemon holds raw ring mappings and is not `Send`: build it in
        // its thread.
        let thread = std::thread::spawn(move || {
            let mut d = xenstore::daemon::Daemon::new(&config).unwrap();
            while !s.load(Ordering::Relaxed) {
                d.turn(Duration::from_millis(20)).unwrap();
            }
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while Client::connect(&socket).is_err() {
            assert!(Instant::now() < deadline, "xenstored did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        TestXenstored { socket, stop, thread: Some(thread) }
    }

    /// A client connected to it.
    pub fn client(&self) -> Client {
        Client::connect(&self.socket).unwrap()
    }
}

impl Drop for TestXenstored {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some(dir) = self.socket.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
