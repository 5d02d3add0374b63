//! S-expressions in xm's SXP style, used by `xm create --dryrun`.
//!
//! Atoms are printed bare when they contain no blanks, parentheses, quotes
//! or backslashes, otherwise single-quoted with `\` escapes
//! (`(root '/dev/xvda1 ro')`).

use std::fmt::Write as _;

use crate::config::{CpuAffinity, DomainConfig};

/// An SXP value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sxp {
    /// A bare or quoted word.
    Atom(String),
    /// `(a b c)`.
    List(Vec<Sxp>),
}

impl Sxp {
    /// An atom.
    pub fn atom(s: impl Into<String>) -> Sxp {
        Sxp::Atom(s.into())
    }

    /// `(key value)`.
    pub fn pair(key: &str, value: impl Into<String>) -> Sxp {
        Sxp::List(vec![Sxp::atom(key), Sxp::atom(value)])
    }

    /// `(key child...)`.
    pub fn node(key: &str, children: Vec<Sxp>) -> Sxp {
        let mut v = vec![Sxp::atom(key)];
        v.extend(children);
        Sxp::List(v)
    }

    /// Single-line rendering.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    fn render_into(&self, out: &mut String) {
        match self {
            Sxp::Atom(s) => out.push_str(&quote(s)),
            Sxp::List(items) => {
                out.push('(');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    item.render_into(out);
                }
                out.push(')');
            }
        }
    }

    /// Multi-line rendering: the head on the first line, each child on its
    /// own line indented four spaces, and the closing parenthesis alone.
    pub fn render_block(&self) -> String {
        let Sxp::List(items) = self else {
            return self.render();
        };
        let mut out = String::from("(");
        if let Some(head) = items.first() {
            head.render_into(&mut out);
        }
        out.push('\n');
        for child in items.iter().skip(1) {
            let _ = writeln!(out, "    {}", child.render());
        }
        out.push_str(")\n");
        out
    }
}

/// Quotes an atom if needed.
pub fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && !s.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '(' | ')' | '\'' | '"' | '\\')
        });
    if plain {
        return s.to_string();
    }
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\'' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The `(vm ...)` description of a domain, as `xm create --dryrun` prints it.
pub fn domain(cfg: &DomainConfig) -> Sxp {
    let mut vm = vec![
        Sxp::pair("name", &cfg.name),
        Sxp::pair("memory", cfg.memory_mib.to_string()),
        Sxp::pair("maxmem", cfg.maxmem_mib.to_string()),
        Sxp::pair("vcpus", cfg.vcpus.to_string()),
    ];
    match &cfg.cpus {
        None => {}
        Some(CpuAffinity::All(set)) => vm.push(Sxp::pair("cpus", set.to_string())),
        Some(CpuAffinity::PerVcpu(sets)) => vm.push(Sxp::node(
            "cpus",
            vec![Sxp::List(
                sets.iter().map(|s| Sxp::atom(s.to_string())).collect(),
            )],
        )),
    }
    if let Some(w) = cfg.cpu_weight {
        vm.push(Sxp::pair("cpu_weight", w.to_string()));
    }
    if let Some(c) = cfg.cpu_cap {
        vm.push(Sxp::pair("cpu_cap", c.to_string()));
    }
    vm.push(Sxp::pair("on_poweroff", cfg.on_poweroff.as_str()));
    vm.push(Sxp::pair("on_reboot", cfg.on_reboot.as_str()));
    vm.push(Sxp::pair("on_crash", cfg.on_crash.as_str()));

    let mut linux = vec![Sxp::pair("kernel", &cfg.kernel)];
    let opt = [
        ("ramdisk", &cfg.ramdisk),
        ("root", &cfg.root),
        ("args", &cfg.extra),
    ];
    linux.extend(
        opt.into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| Sxp::pair(k, v))),
    );
    vm.push(Sxp::node("image", vec![Sxp::node("linux", linux)]));

    for d in &cfg.disks {
        let vbd = Sxp::node(
            "vbd",
            vec![
                Sxp::pair("uname", d.uname()),
                Sxp::pair("dev", &d.vdev),
                Sxp::pair("mode", d.mode.as_str()),
            ],
        );
        vm.push(Sxp::node("device", vec![vbd]));
    }
    for v in &cfg.vifs {
        let mut fields = Vec::new();
        if let Some(mac) = v.mac {
            fields.push(Sxp::pair("mac", mac.to_string()));
        }
        let opt = [
            ("bridge", &v.bridge),
            ("ip", &v.ip),
            ("model", &v.model),
            ("script", &v.script),
            ("vifname", &v.vifname),
        ];
        fields.extend(
            opt.into_iter()
                .filter_map(|(k, x)| x.as_ref().map(|x| Sxp::pair(k, x))),
        );
        vm.push(Sxp::node("device", vec![Sxp::node("vif", fields)]));
    }
    Sxp::node("vm", vm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("abc"), "abc");
        assert_eq!(quote("0-1,3"), "0-1,3");
        assert_eq!(quote("/dev/xvda1 ro"), "'/dev/xvda1 ro'");
        assert_eq!(quote("it's"), "'it\\'s'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a(b"), "'a(b'");
    }

    #[test]
    fn rendering() {
        let s = Sxp::node(
            "vm",
            vec![
                Sxp::pair("name", "x"),
                Sxp::node("a", vec![Sxp::pair("b", "c d")]),
            ],
        );
        assert_eq!(s.render(), "(vm (name x) (a (b 'c d')))");
        assert_eq!(
            s.render_block(),
            "(vm\n    (name x)\n    (a (b 'c d'))\n)\n"
        );
    }
}
