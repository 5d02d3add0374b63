//! The commands that talk to the hypervisor, with the output formats Xen
//! users know from xm/xl. Each takes a `&dyn Hypervisor` and a writer, so
//! host tests run them against [`crate::hypervisor::fake`].

use std::collections::BTreeSet;
use std::io::Write;

use dom0_abi::domctl::{
    DomctlCmd, XenDomctlGetdomaininfo, XenDomctlSchedCredit, XEN_DOMINF_blocked, XEN_DOMINF_dying, XEN_DOMINF_paused,
    XEN_DOMINF_running, XEN_DOMINF_shutdown, XEN_SCHEDULER_CREDIT, XEN_SCHEDULER_CREDIT2, XEN_SCHEDULER_NULL,
    XEN_SCHEDULER_RTDS, XEN_SCHEDULER_ARINC653,
};
use dom0_abi::sched::SHUTDOWN_crash;
use dom0_abi::DomId;

use crate::config::cpus::CpuSet;
use crate::hypervisor::{HvError, Hypervisor};
use crate::ops;
use crate::sxp::Sxp;

/// Why a hypervisor command failed.
#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    /// The hypervisor (or the device) refused.
    #[error(transparent)]
    Hv(#[from] HvError),
    /// No domain has this name or id.
    #[error("domain '{0}' does not exist")]
    NoSuchDomain(String),
    /// The command needs the credit scheduler.
    #[error("the hypervisor runs the {0} scheduler, not credit")]
    NotCredit(&'static str),
    /// A vcpu number the domain does not have.
    #[error("domain {dom} has no vcpu {vcpu} (its vcpus are 0-{max})")]
    NoSuchVcpu {
        /// The domain id.
        dom: u16,
        /// The vcpu asked for.
        vcpu: u32,
        /// Its highest vcpu id.
        max: u32,
    },
    /// A cpu list names cpus the host does not have.
    #[error("cpu {cpu} does not exist (the host has cpus 0-{max})")]
    NoSuchCpu {
        /// The first missing cpu.
        cpu: u32,
        /// The host's highest cpu id.
        max: u32,
    },
    /// Writing the output failed.
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
}

/// Name of domain `id`: `/local/domain/<id>/name` when a xenstored runs,
/// else `Domain-<id>` (see [`crate::xs`]).
pub fn domain_name(id: DomId) -> String {
    crate::xs::domain_name(id)
}

/// Name of a scheduler id.
pub fn scheduler_name(id: u32) -> &'static str {
    match id {
        XEN_SCHEDULER_CREDIT => "credit",
        XEN_SCHEDULER_CREDIT2 => "credit2",
        XEN_SCHEDULER_ARINC653 => "arinc653",
        XEN_SCHEDULER_RTDS => "rtds",
        XEN_SCHEDULER_NULL => "null",
        _ => "unknown",
    }
}

/// Find a domain given by id or name.
pub fn find_domain(hv: &dyn Hypervisor, dom: &str) -> Result<XenDomctlGetdomaininfo, CmdError> {
    let all = ops::domains(hv)?;
    let by_id = dom.parse::<u16>().ok();
    all.into_iter()
        .find(|d| Some(d.domain.0) == by_id || domain_name(d.domain) == dom)
        .ok_or_else(|| CmdError::NoSuchDomain(dom.to_string()))
}

/// The six state letters `rbpscd` (a `-` for each one that does not hold).
pub fn state_letters(d: &XenDomctlGetdomaininfo) -> String {
    let f = d.flags;
    let shutdown = f & XEN_DOMINF_shutdown != 0;
    let crashed = shutdown && d.shutdown_reason() == SHUTDOWN_crash;
    [
        (f & XEN_DOMINF_running != 0, 'r'),
        (f & XEN_DOMINF_blocked != 0, 'b'),
        (f & XEN_DOMINF_paused != 0, 'p'),
        (shutdown && !crashed, 's'),
        (crashed, 'c'),
        (f & XEN_DOMINF_dying != 0, 'd'),
    ]
    .iter()
    .map(|&(on, c)| if on { c } else { '-' })
    .collect()
}

fn mib(pages: u64) -> u64 {
    pages * 4096 / (1024 * 1024)
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// `xm info`.
pub fn info(hv: &dyn Hypervisor, out: &mut dyn Write) -> Result<(), CmdError> {
    let p = ops::physinfo(hv)?;
    let v = ops::version(hv)?;
    let sched = ops::sched_id(hv).map(scheduler_name).unwrap_or("unknown");
    let uts = rustix::system::uname();
    let s = |c: &std::ffi::CStr| c.to_string_lossy().into_owned();
    let hw_caps = p.hw_cap.iter().map(|w| format!("{w:08x}")).collect::<Vec<_>>().join(":");
    let rows: Vec<(&str, String)> = vec![
        ("host", s(uts.nodename())),
        ("release", s(uts.release())),
        ("version", s(uts.version())),
        ("machine", s(uts.machine())),
        ("nr_cpus", p.nr_cpus.to_string()),
        ("max_cpu_id", p.max_cpu_id.to_string()),
        ("nr_nodes", p.nr_nodes.to_string()),
        ("cores_per_socket", p.cores_per_socket.to_string()),
        ("threads_per_core", p.threads_per_core.to_string()),
        ("cpu_mhz", format!("{}.{:03}", p.cpu_khz / 1000, p.cpu_khz % 1000)),
        ("hw_caps", hw_caps),
        ("total_memory", mib(p.total_pages).to_string()),
        ("free_memory", mib(p.free_pages).to_string()),
        ("xen_major", v.major.to_string()),
        ("xen_minor", v.minor.to_string()),
        ("xen_extra", v.extra),
        ("xen_version", format!("{}.{}", v.major, v.minor)),
        ("xen_caps", v.caps),
        ("xen_scheduler", sched.to_string()),
        ("xen_pagesize", v.pagesize.to_string()),
        ("platform_params", format!("virt_start={:#x}", v.virt_start)),
        ("xen_changeset", v.changeset),
        ("xen_commandline", v.commandline),
        ("cc_compiler", v.compiler),
        ("cc_compile_by", v.compile_by),
        ("cc_compile_domain", v.compile_domain),
        ("cc_compile_date", v.compile_date),
    ];
    for (k, val) in rows {
        writeln!(out, "{k:<23}: {val}")?;
    }
    Ok(())
}

/// The domains named in `doms`, or all of them.
fn selected(hv: &dyn Hypervisor, doms: &[String]) -> Result<Vec<XenDomctlGetdomaininfo>, CmdError> {
    if doms.is_empty() {
        Ok(ops::domains(hv)?)
    } else {
        doms.iter().map(|d| find_domain(hv, d)).collect()
    }
}

/// `xm list [-l] [DOM...]`.
pub fn list(hv: &dyn Hypervisor, long: bool, doms: &[String], out: &mut dyn Write) -> Result<(), CmdError> {
    let ds = selected(hv, doms)?;
    if long {
        for d in &ds {
            let sxp = Sxp::node(
                "domain",
                vec![
                    Sxp::pair("domid", d.domain.0.to_string()),
                    Sxp::pair("name", domain_name(d.domain)),
                    Sxp::pair("memory", mib(d.tot_pages).to_string()),
                    Sxp::pair("maxmem", mib(d.max_pages).to_string()),
                    Sxp::pair("vcpus", d.nr_online_vcpus.to_string()),
                    Sxp::pair("state", state_letters(d)),
                    Sxp::pair("cpu_time", format!("{:.1}", secs(d.cpu_time))),
                    Sxp::pair("shutdown_reason", d.shutdown_reason().to_string()),
                    Sxp::pair("ssidref", d.ssidref.to_string()),
                    Sxp::pair("cpupool", d.cpupool.to_string()),
                ],
            );
            out.write_all(sxp.render_block().as_bytes())?;
        }
        return Ok(());
    }
    writeln!(out, "{:<40} {:>5} {:>5} {:>5} {:>10} {:>9}", "Name", "ID", "Mem", "VCPUs", "State", "Time(s)")?;
    for d in &ds {
        writeln!(
            out,
            "{:<40} {:>5} {:>5} {:>5} {:>10} {:>9.1}",
            domain_name(d.domain),
            d.domain.0,
            mib(d.tot_pages),
            d.nr_online_vcpus,
            state_letters(d),
            secs(d.cpu_time)
        )?;
    }
    Ok(())
}

/// `xm dmesg [-c]`.
pub fn dmesg(hv: &dyn Hypervisor, clear: bool, out: &mut dyn Write) -> Result<(), CmdError> {
    out.write_all(&ops::read_console(hv, clear)?)?;
    Ok(())
}

/// `xm pause|unpause|destroy DOM`.
pub fn domain_action(hv: &dyn Hypervisor, cmd: DomctlCmd, dom: &str) -> Result<(), CmdError> {
    let d = find_domain(hv, dom)?;
    ops::simple_domctl(hv, cmd, d.domain)?;
    Ok(())
}

/// `xm domid NAME`.
pub fn domid(hv: &dyn Hypervisor, name: &str, out: &mut dyn Write) -> Result<(), CmdError> {
    writeln!(out, "{}", find_domain(hv, name)?.domain.0)?;
    Ok(())
}

/// `xm domname ID`.
pub fn domname(hv: &dyn Hypervisor, id: u32, out: &mut dyn Write) -> Result<(), CmdError> {
    let d = find_domain(hv, &id.to_string())?;
    writeln!(out, "{}", domain_name(d.domain))?;
    Ok(())
}

/// Format seconds as xm does: `[N days, ]H:MM:SS`.
pub fn format_uptime(secs: u64) -> String {
    let (d, rest) = (secs / 86_400, secs % 86_400);
    let hms = format!("{}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
    match d {
        0 => hms,
        1 => format!("1 day, {hms}"),
        _ => format!("{d} days, {hms}"),
    }
}

/// `xm uptime [DOM...]`: dom0's uptime is the host's (`/proc/uptime`);
/// another domain's is the time since `xm create` started it (its
/// `start_time` in xenstore, as xend kept it), `-` when unknown.
pub fn uptime(hv: &dyn Hypervisor, doms: &[String], out: &mut dyn Write) -> Result<(), CmdError> {
    let host = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split('.').next().and_then(|n| n.trim().parse::<u64>().ok()));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    writeln!(out, "{:<33} {:>4} {}", "Name", "ID", "Uptime")?;
    for d in selected(hv, doms)? {
        let up = match (d.domain.0, host) {
            (0, Some(s)) => format_uptime(s),
            (0, None) => "-".to_string(),
            (id, _) => match crate::xs::domain_start_time(DomId(id)) {
                Some(start) => format_uptime((now - start).max(0.0) as u64),
                None => "-".to_string(),
            },
        };
        writeln!(out, "{:<33} {:>4} {}", domain_name(d.domain), d.domain.0, up)?;
    }
    Ok(())
}

/// A cpu set for display: `any cpu` when it holds every cpu of the host
/// (`0..=max_cpu`), else the canonical list (`0-1,3`).
pub fn affinity_text(cpus: &BTreeSet<u32>, max_cpu: u32) -> String {
    if (0..=max_cpu).all(|c| cpus.contains(&c)) {
        "any cpu".to_string()
    } else if cpus.is_empty() {
        "none".to_string()
    } else {
        CpuSet::Cpus(cpus.clone()).to_string()
    }
}

/// `xm vcpu-list [DOM...]`, with each vcpu's hard affinity.
pub fn vcpu_list(hv: &dyn Hypervisor, doms: &[String], out: &mut dyn Write) -> Result<(), CmdError> {
    writeln!(
        out,
        "{:<32} {:>5} {:>5} {:>5} {:>5} {:>9} CPU Affinity",
        "Name", "ID", "VCPU", "CPU", "State", "Time(s)"
    )?;
    let max_cpu = ops::physinfo(hv)?.max_cpu_id;
    for d in selected(hv, doms)? {
        let paused = d.flags & XEN_DOMINF_paused != 0;
        for v in 0..=d.max_vcpu_id {
            let i = ops::vcpu_info(hv, d.domain, v)?;
            let (cpu, state) = if i.online == 0 {
                ("-".to_string(), "---".to_string())
            } else {
                let s: String = [(i.running != 0, 'r'), (i.blocked != 0, 'b'), (paused, 'p')]
                    .iter()
                    .map(|&(on, c)| if on { c } else { '-' })
                    .collect();
                (i.cpu.to_string(), s)
            };
            let affinity = affinity_text(&ops::hard_affinity(hv, d.domain, v)?, max_cpu);
            writeln!(
                out,
                "{:<32} {:>5} {:>5} {:>5} {:>5} {:>9.1} {affinity}",
                domain_name(d.domain),
                d.domain.0,
                v,
                cpu,
                state,
                secs(i.cpu_time)
            )?;
        }
    }
    Ok(())
}

/// `xm vcpu-pin DOM VCPU CPUS`: set the hard affinity of one vcpu (or
/// `all`) of `dom` to `cpus` (`XEN_DOMCTL_setvcpuaffinity`).
pub fn vcpu_pin(hv: &dyn Hypervisor, dom: &str, vcpu: &str, cpus: &CpuSet) -> Result<(), CmdError> {
    let d = find_domain(hv, dom)?;
    let max_cpu = ops::physinfo(hv)?.max_cpu_id;
    let wanted: BTreeSet<u32> = match cpus {
        CpuSet::All => (0..=max_cpu).collect(),
        CpuSet::Cpus(set) => set.clone(),
    };
    if let Some(&cpu) = wanted.iter().find(|&&c| c > max_cpu) {
        return Err(CmdError::NoSuchCpu { cpu, max: max_cpu });
    }
    let vcpus = match vcpu {
        "all" => 0..=d.max_vcpu_id,
        n => {
            let v: u32 = n.parse().map_err(|_| CmdError::NoSuchVcpu { dom: d.domain.0, vcpu: u32::MAX, max: d.max_vcpu_id })?;
            if v > d.max_vcpu_id {
                return Err(CmdError::NoSuchVcpu { dom: d.domain.0, vcpu: v, max: d.max_vcpu_id });
            }
            v..=v
        }
    };
    for v in vcpus {
        ops::set_hard_affinity(hv, d.domain, v, &wanted)?;
    }
    Ok(())
}

/// `xm sched-credit [-d DOM [-w W] [-c C]]`.
pub fn sched_credit(
    hv: &dyn Hypervisor,
    dom: Option<&str>,
    weight: Option<u16>,
    cap: Option<u16>,
    out: &mut dyn Write,
) -> Result<(), CmdError> {
    let sched = ops::sched_id(hv)?;
    if sched != XEN_SCHEDULER_CREDIT {
        return Err(CmdError::NotCredit(scheduler_name(sched)));
    }
    let ds = match dom {
        Some(d) => vec![find_domain(hv, d)?],
        None => ops::domains(hv)?,
    };
    if weight.is_some() || cap.is_some() {
        let d = ds[0].domain;
        let cur = ops::sched_credit_get(hv, d)?;
        let new = XenDomctlSchedCredit { weight: weight.unwrap_or(cur.weight), cap: cap.unwrap_or(cur.cap) };
        ops::sched_credit_put(hv, d, new)?;
        return Ok(());
    }
    writeln!(out, "{:<33} {:>4} {:>6} {:>4}", "Name", "ID", "Weight", "Cap")?;
    for d in ds {
        let c = ops::sched_credit_get(hv, d.domain)?;
        writeln!(out, "{:<33} {:>4} {:>6} {:>4}", domain_name(d.domain), d.domain.0, c.weight, c.cap)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypervisor::fake::FakeHypervisor;

    fn text(f: impl FnOnce(&mut Vec<u8>) -> Result<(), CmdError>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn list_format() {
        let hv = FakeHypervisor::new();
        let t = text(|o| list(&hv, false, &[], o));
        assert_eq!(
            t,
            "Name                                        ID   Mem VCPUs      State   Time(s)\n\
             Domain-0                                     0   512     1     r-----      12.5\n\
             Domain-3                                     3   128     1     --p---       1.0\n"
        );
        let t = text(|o| list(&hv, true, &["Domain-0".into()], o));
        assert!(t.contains("(domid 0)") && t.contains("(state r-----)"), "{t}");
    }

    #[test]
    fn state_letters_cover_shutdown_and_crash() {
        let mut d = XenDomctlGetdomaininfo { flags: XEN_DOMINF_shutdown | XEN_DOMINF_dying, ..Default::default() };
        assert_eq!(state_letters(&d), "---s-d");
        d.flags = XenDomctlGetdomaininfo::with_shutdown_reason(XEN_DOMINF_shutdown, SHUTDOWN_crash);
        assert_eq!(state_letters(&d), "----c-");
    }

    #[test]
    fn info_format() {
        let hv = FakeHypervisor::new();
        let t = text(|o| info(&hv, o));
        for line in [
            "nr_cpus                : 2",
            "cores_per_socket       : 2",
            "cpu_mhz                : 2000.123",
            "hw_caps                : 178bfbff:f7fa3223:2c100800:00000000:00000000:00000000:00000000:00000000",
            "total_memory           : 1024",
            "free_memory            : 390",
            "xen_major              : 4",
            "xen_minor              : 17",
            "xen_extra              : .5-fake",
            "xen_scheduler          : credit",
            "platform_params        : virt_start=0xffff800000000000",
            "xen_commandline        : console=com1 sched=credit",
            "cc_compiler            : gcc (Debian 12.2.0-14) 12.2.0",
        ] {
            assert!(t.lines().any(|l| l == line), "missing {line:?} in\n{t}");
        }
    }

    #[test]
    fn dmesg_reads_and_clears() {
        let hv = FakeHypervisor::new();
        assert_eq!(text(|o| dmesg(&hv, false, o)), "(XEN) Xen version 4.17 (fake)\n(XEN) second line\n");
        assert!(text(|o| dmesg(&hv, true, o)).contains("second line"));
        assert_eq!(text(|o| dmesg(&hv, false, o)), "");
    }

    #[test]
    fn pause_unpause_destroy_and_missing_domains() {
        let hv = FakeHypervisor::new();
        domain_action(&hv, DomctlCmd::Pausedomain, "0").unwrap();
        assert_eq!(state_letters(&find_domain(&hv, "0").unwrap()), "r-p---");
        domain_action(&hv, DomctlCmd::Unpausedomain, "Domain-0").unwrap();
        assert_eq!(state_letters(&find_domain(&hv, "0").unwrap()), "r-----");
        domain_action(&hv, DomctlCmd::Destroydomain, "3").unwrap();
        let e = domain_action(&hv, DomctlCmd::Pausedomain, "3").unwrap_err();
        assert_eq!(e.to_string(), "domain '3' does not exist");
        assert_eq!(text(|o| domid(&hv, "Domain-0", o)), "0\n");
        assert_eq!(text(|o| domname(&hv, 0, o)), "Domain-0\n");
    }

    #[test]
    fn sched_credit_get_and_set() {
        let hv = FakeHypervisor::new();
        let t = text(|o| sched_credit(&hv, Some("0"), None, None, o));
        assert_eq!(t, "Name                                ID Weight  Cap\nDomain-0                             0    256    0\n");
        text(|o| sched_credit(&hv, Some("3"), Some(512), None, o));
        text(|o| sched_credit(&hv, Some("3"), None, Some(25), o));
        let t = text(|o| sched_credit(&hv, None, None, None, o));
        assert!(t.ends_with("Domain-3                             3    512   25\n"), "{t}");
    }

    #[test]
    fn version_mismatch_is_reported_as_such() {
        let hv = FakeHypervisor::new();
        hv.state.borrow_mut().interface_version = Some(0x14);
        let e = list(&hv, false, &[], &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("hypervisor too old or too new"), "{e}");
    }

    #[test]
    fn vcpu_pin_sets_hard_affinity() {
        let hv = FakeHypervisor::new();
        vcpu_pin(&hv, "3", "0", &"1".parse().unwrap()).unwrap();
        let t = text(|o| vcpu_list(&hv, &["3".into()], o));
        assert!(t.lines().nth(1).unwrap().ends_with(" 1"), "{t}");
        vcpu_pin(&hv, "3", "all", &CpuSet::All).unwrap();
        let t = text(|o| vcpu_list(&hv, &["3".into()], o));
        assert!(t.lines().nth(1).unwrap().ends_with(" any cpu"), "{t}");
        let e = vcpu_pin(&hv, "3", "0", &"0,7".parse().unwrap()).unwrap_err();
        assert_eq!(e.to_string(), "cpu 7 does not exist (the host has cpus 0-1)");
        let e = vcpu_pin(&hv, "3", "2", &CpuSet::All).unwrap_err();
        assert_eq!(e.to_string(), "domain 3 has no vcpu 2 (its vcpus are 0-0)");
        assert!(vcpu_pin(&hv, "nosuch", "0", &CpuSet::All).is_err());
    }

    #[test]
    fn vcpu_list_and_uptime() {
        let hv = FakeHypervisor::new();
        let t = text(|o| vcpu_list(&hv, &[], o));
        assert_eq!(t.lines().nth(1).unwrap(), "Domain-0                             0     0     0   r--      12.5 any cpu");
        assert_eq!(t.lines().nth(2).unwrap(), "Domain-3                             3     0     0   --p       1.0 any cpu");
        let t = text(|o| uptime(&hv, &["3".into()], o));
        assert_eq!(t, "Name                                ID Uptime\nDomain-3                             3 -\n");
        assert_eq!(format_uptime(59), "0:00:59");
        assert_eq!(format_uptime(90_061), "1 day, 1:01:01");
    }
}
