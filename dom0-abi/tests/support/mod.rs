//! Machinery for the layout conformance test: the check tables' types, the
//! C probe generator, and the comparison that names every mismatch.
//!
//! The probe includes Xen 4.17's public headers from `/usr/include/xen`
//! (Debian `libxen-dev`), prints `sizeof`/`_Alignof`/`offsetof` for every
//! listed struct and field and the value of every listed constant, and the
//! test compares each line with what Rust computed.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One field of a checked struct.
pub struct FieldCheck {
    /// Rust field path, e.g. `console.domU.mfn`.
    pub rust: String,
    /// C member designator; empty for Rust-only fields (not compared with C).
    pub c: String,
    /// Rust offset.
    pub offset: usize,
    /// Rust size of the field's type.
    pub size: usize,
    /// Rust alignment of the field's type.
    pub align: usize,
}

/// One struct (or union) to compare with its C definition.
pub struct StructCheck {
    /// Rust type name.
    pub rust: &'static str,
    /// C type expression usable in `sizeof` and `offsetof`.
    pub c: &'static str,
    /// Rust size.
    pub size: usize,
    /// Rust alignment.
    pub align: usize,
    /// Whether the type is a union (all fields at offset 0).
    pub is_union: bool,
    /// The fields.
    pub fields: Vec<FieldCheck>,
}

/// One constant to compare.
pub struct ConstCheck {
    /// Name shown in reports (the Rust expression).
    pub name: String,
    /// C expression.
    pub c: String,
    /// Rust value as a 64-bit pattern (signed values sign-extended).
    pub value: u64,
}

/// Turns an integer of any width into the 64-bit pattern the probe prints.
pub trait Bits64 {
    /// The value, sign-extended if signed.
    fn bits64(self) -> u64;
}

macro_rules! bits_unsigned {
    ($($t:ty),*) => { $(impl Bits64 for $t { fn bits64(self) -> u64 { self as u64 } })* };
}
macro_rules! bits_signed {
    ($($t:ty),*) => { $(impl Bits64 for $t { fn bits64(self) -> u64 { self as i64 as u64 } })* };
}
bits_unsigned!(u8, u16, u32, u64, usize);
bits_signed!(i8, i16, i32, i64);

/// Size and alignment of the type a field projection points at.
pub fn field_layout<T, F>(_project: fn(*const T) -> *const F) -> (usize, usize) {
    (std::mem::size_of::<F>(), std::mem::align_of::<F>())
}

/// Normalises a stringified Rust field path: no spaces, no `r#`.
pub fn rust_path(s: &str) -> String {
    s.split_whitespace().collect::<String>().replace("r#", "")
}

/// Builds the table of struct checks.
///
/// `Type => "C type" { field, nested.field, rust_field = "c.member", rust_only = "" }`;
/// prefix the entry with `union` for unions.
macro_rules! structs {
    ($( $(#[$kind:ident])? $ty:ty => $c:literal { $( $($f:ident).+ $(= $cf:literal)? ),* $(,)? } )*) => {{
        let mut v = Vec::new();
        $(
            let fields = vec![ $( {
                let rust = $crate::support::rust_path(stringify!($($f).+));
                let explicit: &[&str] = &[$($cf)?];
                let c = explicit.first().map(|s| s.to_string()).unwrap_or_else(|| rust.clone());
                let (size, align) = $crate::support::field_layout(
                    // SAFETY: the projection is never called; only its type is used.
                    |p: *const $ty| unsafe { core::ptr::addr_of!((*p).$($f).+) },
                );
                $crate::support::FieldCheck {
                    rust, c, offset: core::mem::offset_of!($ty, $($f).+), size, align,
                }
            } ),* ];
            let kinds: &[&str] = &[$(stringify!($kind))?];
            v.push($crate::support::StructCheck {
                rust: stringify!($ty),
                c: $c,
                size: core::mem::size_of::<$ty>(),
                align: core::mem::align_of::<$ty>(),
                is_union: kinds.contains(&"union"),
                fields,
            });
        )*
        v
    }};
}

/// Builds constant checks whose C name equals the Rust name.
macro_rules! consts_same {
    ($($name:ident),* $(,)?) => {
        vec![ $( $crate::support::ConstCheck {
            name: stringify!($name).to_string(),
            c: stringify!($name).to_string(),
            value: $crate::support::Bits64::bits64($name),
        } ),* ]
    };
}

/// Builds constant checks from `(rust expression, "C expression")` pairs.
macro_rules! consts_expr {
    ($( ($rust:expr, $c:expr) ),* $(,)?) => {
        vec![ $( $crate::support::ConstCheck {
            name: stringify!($rust).to_string(),
            c: $c.to_string(),
            value: $crate::support::Bits64::bits64($rust),
        } ),* ]
    };
}

/// The headers the probe includes, in order.
const INCLUDES: &[&str] = &[
    "stdio.h",
    "stddef.h",
    "stdint.h",
    "errno.h",
    "sys/ioctl.h",
    "xen/xen.h",
    "xen/errno.h",
    "xen/features.h",
    "xen/callback.h",
    "xen/nmi.h",
    "xen/sched.h",
    "xen/vcpu.h",
    "xen/version.h",
    "xen/event_channel.h",
    "xen/grant_table.h",
    "xen/memory.h",
    "xen/physdev.h",
    "xen/platform.h",
    "xen/domctl.h",
    "xen/sysctl.h",
    "xen/elfnote.h",
    "xen/arch-x86/hvm/save.h",
    "xen/arch-x86/xen-mca.h",
    "xen/io/console.h",
    "xen/io/xs_wire.h",
    "xen/io/xenbus.h",
    "xen/sys/privcmd.h",
    "xen/sys/evtchn.h",
    "xen/sys/gntdev.h",
];

/// Makes sure Xen's public headers are installed, installing `libxen-dev`
/// when running as root, and panics with the command to run otherwise.
pub fn ensure_headers() {
    if Path::new("/usr/include/xen/xen.h").exists() {
        return;
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if is_root {
        // A fresh machine may not have package lists yet: update first.
        let status = Command::new("sh")
            .arg("-c")
            .arg("(apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libxen-dev")
            .status();
        if matches!(status, Ok(s) if s.success()) && Path::new("/usr/include/xen/xen.h").exists() {
            return;
        }
    }
    panic!(
        "Xen 4.17 public headers are missing (/usr/include/xen/xen.h).\n\
         Install them with:  sudo apt-get install -y libxen-dev"
    );
}

/// Writes, compiles and runs the probe; returns its output lines.
pub fn run_probe(structs: &[StructCheck], consts: &[ConstCheck], extra: &str) -> String {
    let mut c = String::new();
    for inc in INCLUDES {
        writeln!(c, "#include <{inc}>").unwrap();
    }
    c.push_str("#define MEMBER_T(s, m) __typeof__(((s *)0)->m)\n");
    c.push_str("#define FSIZE(s, m) sizeof(((s *)0)->m)\n");
    c.push_str("int main(void) {\n");
    for s in structs {
        writeln!(
            c,
            "  printf(\"S|%s|%zu|%zu\\n\", \"{}\", sizeof({}), (size_t)_Alignof({}));",
            s.rust, s.c, s.c
        )
        .unwrap();
        for f in s.fields.iter().filter(|f| !f.c.is_empty()) {
            writeln!(
                c,
                "  printf(\"F|%s|%s|%zu|%zu\\n\", \"{}\", \"{}\", offsetof({}, {}), FSIZE({}, {}));",
                s.rust, f.rust, s.c, f.c, s.c, f.c
            )
            .unwrap();
        }
    }
    for k in consts {
        writeln!(
            c,
            "  printf(\"C|%s|%llu\\n\", \"{}\", (unsigned long long)({}));",
            k.name.replace('"', "\\\""),
            k.c
        )
        .unwrap();
    }
    c.push_str(extra);
    c.push_str("  return 0;\n}\n");

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dom0-abi-layout");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("probe.c");
    let exe = dir.join("probe");
    std::fs::write(&src, &c).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let out = Command::new(&cc)
        .args(["-std=gnu11", "-Wall", "-D__XEN_TOOLS__", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}`: {e} (install gcc)"));
    assert!(
        out.status.success(),
        "the C probe {} did not compile:\n{}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().expect("run probe");
    assert!(run.status.success(), "probe failed: {}", String::from_utf8_lossy(&run.stderr));
    String::from_utf8(run.stdout).unwrap()
}

/// Compares the probe output with the Rust tables; returns every mismatch
/// and the number of (structs, fields, constants) compared.
pub fn compare(
    structs: &[StructCheck],
    consts: &[ConstCheck],
    output: &str,
) -> (Vec<String>, (usize, usize, usize)) {
    let mut c_structs: HashMap<&str, (usize, usize)> = HashMap::new();
    let mut c_fields: HashMap<(&str, &str), (usize, usize)> = HashMap::new();
    let mut c_consts: HashMap<&str, u64> = HashMap::new();
    for line in output.lines() {
        let parts: Vec<&str> = line.split('|').collect();
        match parts[0] {
            "S" => {
                c_structs.insert(parts[1], (parts[2].parse().unwrap(), parts[3].parse().unwrap()));
            }
            "F" => {
                c_fields.insert(
                    (parts[1], parts[2]),
                    (parts[3].parse().unwrap(), parts[4].parse().unwrap()),
                );
            }
            "C" => {
                c_consts.insert(parts[1], parts[2].parse().unwrap());
            }
            _ => {}
        }
    }

    let mut errors = Vec::new();
    let mut counts = (0, 0, 0);
    for s in structs {
        counts.0 += 1;
        let (csize, calign) = c_structs[s.rust];
        if csize != s.size {
            errors.push(format!("{} ({}): size Rust {} != C {}", s.rust, s.c, s.size, csize));
        }
        if calign != s.align {
            errors.push(format!("{} ({}): align Rust {} != C {}", s.rust, s.c, s.align, calign));
        }
        for f in s.fields.iter().filter(|f| !f.c.is_empty()) {
            counts.1 += 1;
            let (coff, cfsize) = c_fields[&(s.rust, f.rust.as_str())];
            if coff != f.offset {
                errors.push(format!(
                    "{}.{} (C {}): offset Rust {} != C {}",
                    s.rust, f.rust, f.c, f.offset, coff
                ));
            }
            if cfsize != f.size {
                errors.push(format!(
                    "{}.{} (C {}): field size Rust {} != C {}",
                    s.rust, f.rust, f.c, f.size, cfsize
                ));
            }
        }
        errors.extend(coverage_gaps(s));
    }
    for k in consts {
        counts.2 += 1;
        let cval = c_consts[k.name.as_str()];
        if cval != k.value {
            errors.push(format!(
                "constant {} (C {}): Rust {:#x} != C {:#x}",
                k.name, k.c, k.value, cval
            ));
        }
    }
    (errors, counts)
}

/// Flags tables that seem to leave a field out: for a struct, any gap
/// between listed fields (or at the end) that alignment padding alone
/// cannot explain.
fn coverage_gaps(s: &StructCheck) -> Vec<String> {
    if s.fields.is_empty() {
        // Size-and-alignment-only entries (newtypes over a C scalar).
        return Vec::new();
    }
    let mut fields: Vec<&FieldCheck> = s.fields.iter().filter(|f| !f.rust.contains('.')).collect();
    fields.sort_by_key(|f| f.offset);
    let mut errors = Vec::new();
    let mut cursor = 0usize;
    for f in &fields {
        if s.is_union {
            cursor = cursor.max(f.offset + f.size);
            continue;
        }
        if f.offset > cursor && f.offset - cursor >= f.align {
            errors.push(format!(
                "{}: {} unlisted bytes before field {} (table incomplete?)",
                s.rust,
                f.offset - cursor,
                f.rust
            ));
        }
        cursor = cursor.max(f.offset + f.size);
    }
    if s.size > cursor && s.size - cursor >= s.align {
        errors.push(format!(
            "{}: {} unlisted bytes at the end (table incomplete?)",
            s.rust,
            s.size - cursor
        ));
    }
    errors
}
