//! The `xenstore` command-line client: `xenstore read|write|exists|list|
//! ls|rm|mkdir|chmod|getperms|watch|bench`, or the same commands under
//! Xen's multi-call names (`xenstore-read`, `xenstore-ls`, …) when the
//! binary is invoked through a link of that name.
//!
//! Output follows Xen's `xenstore_client.c`: values are printed with
//! non-printable bytes escaped (`\n`, `\t`, `\x1b`, `\003`; `-R` prints them
//! raw), `ls` prints an indented `name = "value"` tree, `watch` prints the
//! path of each event. Failures are one line on stderr and exit status 1;
//! usage errors exit with 2.
//!
//! The connection is `--socket PATH` when given, else [`Client::open`]
//! (`$XENSTORED_PATH`, the default socket, `/dev/xen/xenbus`).

use std::io::Write;
use std::path::PathBuf;

use crate::client::{Client, ClientError, TxId};

/// Exit status of a failed command.
pub const EXIT_FAILURE: i32 = 1;
/// Exit status of a usage error.
pub const EXIT_USAGE: i32 = 2;

/// Column up to which `ls -p` pads values before the permissions (Xen's `desired_width`).
const PERMS_COLUMN: usize = 60;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad command line.
    #[error("{0}")]
    Usage(String),
    /// Connecting to xenstored failed.
    #[error("could not connect to xenstored: {0}")]
    Connect(ClientError),
    /// An operation on a path failed.
    #[error("couldn't {verb} path {path}: {}", reason(source))]
    Path {
        /// What was attempted (`read`, `write`, …).
        verb: &'static str,
        /// The path.
        path: String,
        /// The daemon's answer.
        source: ClientError,
    },
    /// Another xenstore failure (watches, benchmark).
    #[error("{0}")]
    Client(#[from] ClientError),
    /// Writing the output failed.
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
}

/// The daemon's error without the client's `xenstore:` prefix.
fn reason(e: &ClientError) -> String {
    match e {
        ClientError::Xs(x) => x.to_string(),
        other => other.to_string(),
    }
}

/// A command of the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmd {
    /// Print values.
    Read,
    /// Write `path value` pairs.
    Write,
    /// Exit status says whether paths exist.
    Exists,
    /// Print a node's children.
    List,
    /// Print a subtree.
    Ls,
    /// Remove nodes.
    Rm,
    /// Create empty nodes.
    Mkdir,
    /// Set permissions.
    Chmod,
    /// Print permissions.
    GetPerms,
    /// Print watch events.
    Watch,
    /// Benchmark the daemon (needs `--socket`).
    Bench,
}

impl Cmd {
    /// All commands with their names.
    const ALL: [(&'static str, Cmd); 11] = [
        ("read", Cmd::Read),
        ("write", Cmd::Write),
        ("exists", Cmd::Exists),
        ("list", Cmd::List),
        ("ls", Cmd::Ls),
        ("rm", Cmd::Rm),
        ("mkdir", Cmd::Mkdir),
        ("chmod", Cmd::Chmod),
        ("getperms", Cmd::GetPerms),
        ("watch", Cmd::Watch),
        ("bench", Cmd::Bench),
    ];

    /// The command called `name`.
    pub fn from_name(name: &str) -> Option<Cmd> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|&(_, c)| c)
    }
}

/// Options shared by the commands (each uses the ones it knows).
#[derive(Debug, Default)]
struct Opts {
    socket: Option<PathBuf>,
    /// `-p`: prefix values with their path (read, list), show permissions (ls).
    p: bool,
    /// `-R`: raw values.
    raw: bool,
    /// `-f`: full paths (ls).
    full: bool,
    /// `-t`: remove empty parents too (rm).
    tidy: bool,
    /// `-r`: recursive (chmod).
    recursive: bool,
    /// `-n NR`: number of events (watch).
    count: Option<usize>,
    args: Vec<String>,
}

fn usage_text() -> String {
    let names: Vec<&str> = Cmd::ALL.iter().map(|(n, _)| *n).collect();
    format!(
        "usage: xenstore [--socket PATH] COMMAND [OPTIONS] ARGS\n  commands: {}\n  \
         read [-p] [-R] PATH...; write PATH VALUE...; ls [-f] [-p] [PATH]; rm [-t] PATH...;\n  \
         chmod [-r] PATH PERM...; watch [-n NR] PATH",
        names.join(", ")
    )
}

fn parse(mut args: Vec<String>) -> Result<Opts, CliError> {
    let mut o = Opts::default();
    let mut rest = Vec::new();
    let mut only_args = false;
    args.reverse();
    while let Some(a) = args.pop() {
        if only_args || !a.starts_with('-') || a == "-" {
            rest.push(a);
            continue;
        }
        match a.as_str() {
            "--" => only_args = true,
            "--socket" => {
                let p = args.pop().ok_or_else(|| CliError::Usage("--socket needs a path".into()))?;
                o.socket = Some(p.into());
            }
            "-n" => {
                let n = args.pop().ok_or_else(|| CliError::Usage("-n needs a number".into()))?;
                o.count = Some(n.parse().map_err(|_| CliError::Usage(format!("bad count {n:?}")))?);
            }
            flags => {
                for c in flags[1..].chars() {
                    match c {
                        'p' => o.p = true,
                        'R' => o.raw = true,
                        'f' => o.full = true,
                        't' => o.tidy = true,
                        'r' => o.recursive = true,
                        // Xen's "-s: connect through the socket" and "-u"
                        // (chmod: no longer meaningful) are accepted.
                        's' | 'u' => {}
                        _ => return Err(CliError::Usage(format!("unknown option -{c}"))),
                    }
                }
            }
        }
    }
    o.args = rest;
    Ok(o)
}

/// Escapes a value as Xen's clients print it: printable ASCII as is,
/// `\t \n \r \\` by name, bytes below 8 in octal, others in hex.
pub fn sanitise(value: &[u8]) -> String {
    let mut s = String::with_capacity(value.len());
    for &c in value {
        match c {
            b'\\' => s.push_str("\\\\"),
            b' '..=b'~' => s.push(c as char),
            b'\t' => s.push_str("\\t"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            0..=7 => s.push_str(&format!("\\{c:03o}")),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s
}

/// Splits `argv` into the command and its arguments: `xenstore-read A`
/// (multi-call name) or `xenstore read A`.
pub fn command_of(argv: &[String]) -> Result<(Cmd, Vec<String>), CliError> {
    let prog = argv.first().map(String::as_str).unwrap_or("xenstore");
    let base = prog.rsplit('/').next().unwrap_or(prog);
    if let Some(name) = base.strip_prefix("xenstore-") {
        let cmd = Cmd::from_name(name).ok_or_else(|| CliError::Usage(format!("unknown command {name}")))?;
        return Ok((cmd, argv[1..].to_vec()));
    }
    // `--socket PATH` may come before the command.
    let mut pre = Vec::new();
    let mut it = argv.iter().skip(1).cloned();
    while let Some(a) = it.next() {
        if a == "--socket" {
            pre.push(a);
            pre.extend(it.next());
            continue;
        }
        let cmd = Cmd::from_name(&a).ok_or_else(|| CliError::Usage(format!("unknown command {a}\n{}", usage_text())))?;
        pre.extend(it);
        return Ok((cmd, pre));
    }
    Err(CliError::Usage(usage_text()))
}

/// Runs the client with `argv` (program name first); returns the exit status.
pub fn main(argv: &[String], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let prog = argv.first().map(|p| p.rsplit('/').next().unwrap_or(p).to_string());
    let prog = prog.unwrap_or_else(|| "xenstore".into());
    let result = command_of(argv).and_then(|(cmd, args)| {
        let o = parse(args)?;
        run(cmd, &o, out)
    });
    let _ = out.flush();
    match result {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(err, "{prog}: {e}");
            if matches!(e, CliError::Usage(_)) {
                EXIT_USAGE
            } else {
                EXIT_FAILURE
            }
        }
    }
}

fn connect(o: &Opts) -> Result<Client, CliError> {
    match &o.socket {
        Some(p) => Client::connect(p),
        None => Client::open(),
    }
    .map_err(CliError::Connect)
}

fn need(o: &Opts, min: usize, what: &str) -> Result<(), CliError> {
    if o.args.len() < min {
        return Err(CliError::Usage(format!("usage: {what}")));
    }
    Ok(())
}

fn at<'a>(verb: &'static str, path: &'a str) -> impl FnOnce(ClientError) -> CliError + 'a {
    move |source| CliError::Path { verb, path: path.to_string(), source }
}

/// Runs one command; `Ok` carries the exit status (`exists` fails quietly).
fn run(cmd: Cmd, o: &Opts, out: &mut dyn Write) -> Result<i32, CliError> {
    const N: TxId = TxId::NONE;
    match cmd {
        Cmd::Read => need(o, 1, "read [-p] [-R] PATH...")?,
        Cmd::Write => {
            need(o, 2, "write PATH VALUE [PATH VALUE]...")?;
            if !o.args.len().is_multiple_of(2) {
                return Err(CliError::Usage("write takes PATH VALUE pairs".into()));
            }
        }
        Cmd::Exists | Cmd::List | Cmd::Rm | Cmd::Mkdir | Cmd::GetPerms => need(o, 1, "COMMAND PATH...")?,
        Cmd::Chmod => need(o, 2, "chmod [-r] PATH PERM...")?,
        Cmd::Watch => need(o, 1, "watch [-n NR] PATH")?,
        Cmd::Ls | Cmd::Bench => {}
    }
    if cmd == Cmd::Bench {
        return bench(o, out);
    }
    let mut c = connect(o)?;
    match cmd {
        Cmd::Read => {
            for p in &o.args {
                let v = c.read(N, p).map_err(at("read", p))?;
                let text = if o.raw { String::from_utf8_lossy(&v).into_owned() } else { sanitise(&v) };
                if o.p {
                    writeln!(out, "{p}: {text}")?;
                } else {
                    writeln!(out, "{text}")?;
                }
            }
        }
        Cmd::Write => {
            for pair in o.args.chunks(2) {
                c.write(N, &pair[0], pair[1].as_bytes()).map_err(at("write", &pair[0]))?;
            }
        }
        Cmd::Exists => {
            for p in &o.args {
                if c.read(N, p).is_err() && c.directory(N, p).is_err() {
                    return Ok(EXIT_FAILURE);
                }
            }
        }
        Cmd::List => {
            for p in &o.args {
                for child in c.directory(N, p).map_err(at("list", p))? {
                    if o.p {
                        writeln!(out, "{}", join(p, &child))?;
                    } else {
                        writeln!(out, "{child}")?;
                    }
                }
            }
        }
        Cmd::Ls => {
            let root = o.args.first().map(String::as_str).unwrap_or("/");
            let children = c.directory(N, root).map_err(at("list", root))?;
            ls(&mut c, o, root, &children, 0, out)?;
        }
        Cmd::Rm => {
            for p in &o.args {
                c.rm(N, p).map_err(at("remove", p))?;
                if o.tidy {
                    tidy(&mut c, p);
                }
            }
        }
        Cmd::Mkdir => {
            for p in &o.args {
                c.mkdir(N, p).map_err(at("create", p))?;
            }
        }
        Cmd::Chmod => {
            let perms: Vec<&str> = o.args[1..].iter().map(String::as_str).collect();
            chmod(&mut c, &o.args[0], &perms, o.recursive)?;
        }
        Cmd::GetPerms => {
            for p in &o.args {
                writeln!(out, "{}", c.get_perms(N, p).map_err(at("get permissions of", p))?.join(" "))?;
            }
        }
        Cmd::Watch => {
            c.watch(&o.args[0], "input").map_err(at("watch", &o.args[0]))?;
            let mut seen = 0;
            while o.count.is_none_or(|n| seen < n) {
                let ev = c.next_event()?;
                writeln!(out, "{}", ev.path)?;
                out.flush()?;
                seen += 1;
            }
        }
        Cmd::Bench => unreachable!("handled above"),
    }
    Ok(0)
}

fn join(dir: &str, child: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{child}")
    } else {
        format!("{dir}/{child}")
    }
}

/// Prints `children` of `dir` and their subtrees, `depth` spaces in.
fn ls(c: &mut Client, o: &Opts, dir: &str, children: &[String], depth: usize, out: &mut dyn Write) -> Result<(), CliError> {
    for name in children {
        let path = join(dir, name);
        let mut line = if o.full { path.clone() } else { format!("{:depth$}{name}", "") };
        match c.read(TxId::NONE, &path) {
            Ok(v) => {
                line.push_str(&format!(" = \"{}\"", sanitise(&v)));
            }
            Err(_) => line.push(':'),
        }
        if o.p {
            let perms = c.get_perms(TxId::NONE, &path).map_err(at("get permissions of", &path))?;
            line.push(' ');
            while line.len() < PERMS_COLUMN {
                line.push(if line.len() % 2 == 1 { '.' } else { ' ' });
            }
            line.push_str(&format!("  ({})", perms.join(",")));
        }
        writeln!(out, "{line}")?;
        // A node may vanish or be unreadable between the two requests.
        let grandchildren = c.directory(TxId::NONE, &path).unwrap_or_default();
        ls(c, o, &path, &grandchildren, depth + 1, out)?;
    }
    Ok(())
}

/// `rm -t`: removes the parents that the removal left empty (up to the root).
fn tidy(c: &mut Client, path: &str) {
    let mut p = path.trim_end_matches('/').to_string();
    while let Some(cut) = p.rfind('/') {
        p.truncate(cut);
        if p.is_empty() {
            return;
        }
        let empty_value = c.read(TxId::NONE, &p).is_ok_and(|v| v.is_empty());
        let no_children = c.directory(TxId::NONE, &p).is_ok_and(|d| d.is_empty());
        if !(empty_value && no_children) || c.rm(TxId::NONE, &p).is_err() {
            return;
        }
    }
}

fn chmod(c: &mut Client, path: &str, perms: &[&str], recursive: bool) -> Result<(), CliError> {
    c.set_perms(TxId::NONE, path, perms).map_err(at("set permissions of", path))?;
    if recursive {
        for child in c.directory(TxId::NONE, path).map_err(at("list", path))? {
            chmod(c, &join(path, &child), perms, true)?;
        }
    }
    Ok(())
}

/// Lines of a benchmark report, as `cargo xtask bench` prints them.
pub fn format_report(r: &crate::bench::Report) -> String {
    format!(
        "xenstore reads/s:           {:>10.0}\nxenstore writes/s:          {:>10.0}\nxenstore watch latency (us): {:>9.1}\n",
        r.reads_per_sec, r.writes_per_sec, r.watch_latency_us
    )
}

fn bench(o: &Opts, out: &mut dyn Write) -> Result<i32, CliError> {
    let socket = o
        .socket
        .clone()
        .or_else(|| std::env::var_os("XENSTORED_PATH").map(PathBuf::from))
        .unwrap_or_else(|| crate::DEFAULT_SOCKET.into());
    let r = crate::bench::run(&socket)?;
    out.write_all(format_report(&r).as_bytes())?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn sanitise_matches_xen() {
        assert_eq!(sanitise(b"Domain-0"), "Domain-0");
        assert_eq!(sanitise(b"a\\b\tc\nd\re"), "a\\\\b\\tc\\nd\\re");
        assert_eq!(sanitise(&[0, 7, 8, 0x1b, 0x7f, 0xff]), "\\000\\007\\x08\\x1b\\x7f\\xff");
    }

    #[test]
    fn multi_call_names_and_subcommands() {
        let (c, a) = command_of(&argv("/usr/bin/xenstore-read -p /a /b")).unwrap();
        assert_eq!((c, a), (Cmd::Read, argv("-p /a /b")));
        let (c, a) = command_of(&argv("xenstore --socket /s ls /x")).unwrap();
        assert_eq!((c, a), (Cmd::Ls, argv("--socket /s /x")));
        assert!(command_of(&argv("xenstore frob")).is_err());
        assert!(command_of(&argv("xenstore-frob")).is_err());
        assert!(command_of(&argv("xenstore")).is_err());
    }

    #[test]
    fn options() {
        let o = parse(argv("-pR -n 3 /a -- -b")).unwrap();
        assert!(o.p && o.raw && !o.full);
        assert_eq!(o.count, Some(3));
        assert_eq!(o.args, argv("/a -b"));
        assert!(matches!(parse(argv("-x")), Err(CliError::Usage(_))));
        assert!(matches!(parse(argv("-n")), Err(CliError::Usage(_))));
    }

    #[test]
    fn usage_errors_exit_2() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(main(&argv("xenstore-write /only-path"), &mut out, &mut err), EXIT_USAGE);
        assert!(String::from_utf8(err).unwrap().starts_with("xenstore-write: usage: write"));
    }
}
