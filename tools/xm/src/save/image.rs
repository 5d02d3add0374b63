//! Whole images: a running domain suspended and written as an xl save
//! image ([`save_domain`]), an image checked without side effects
//! ([`validate`]) and an image restored as a running domain
//! ([`restore_domain`]), its xenstore nodes written and its store ring
//! introduced; xenconsoled finds the new console by itself.
//!
//! The image carries the domain's configuration as xl config text (the
//! configuration file `xm create` read, its `KEY=VALUE` overrides
//! appended), preceded by `# xm-config:` and `# xm-override:` comment
//! lines that let a restored domain be restarted from the same file.

use std::io::{Read, Write};
use std::time::Instant;

use dom0_abi::DomId;
use xenstore::client::Client;

use super::progress::{Progress, Summary};
use super::restore::{RestoreError, Restorer};
use super::saver::{self, SaveError, Saver};
use super::stream::{self, rec, PageData, Record, StreamError};
use super::suspend::{self, SuspendError};
use crate::build::BuiltDomain;
use crate::config::{self, ConfigError, DomainConfig};
use crate::domstore::{self, ConfigSource, XsNames};
use crate::hypervisor::Hypervisor;
use crate::build::NameRegistry;

/// Why an image operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The domain would not suspend (it keeps running).
    #[error(transparent)]
    Suspend(#[from] SuspendError),
    /// Saving failed (the domain was resumed).
    #[error(transparent)]
    Save(#[from] SaveError),
    /// The image is malformed.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// Restoring failed (nothing of the new domain is left).
    #[error(transparent)]
    Restore(#[from] RestoreError),
    /// The configuration in the image does not parse.
    #[error("the configuration in the image: {0}")]
    Config(#[from] ConfigError),
    /// xenstore does not know the domain's configuration.
    #[error("domain {0} has no configuration recorded in xenstore (was it made by xm create?)")]
    NoConfig(u16),
    /// The configuration file cannot be read again.
    #[error("reading the configuration {path}: {source}")]
    ConfigFile {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Xen's own images carry libxl JSON, which xm does not read.
    #[error("the image carries a libxl JSON configuration, which xm cannot read")]
    Json,
    /// The name is taken.
    #[error("domain name '{0}' is already in use")]
    NameInUse(String),
    /// xenstore refused a step.
    #[error("{step}: {source}")]
    Xenstore {
        /// What was being done.
        step: &'static str,
        /// Why.
        source: xenstore::client::ClientError,
    },
}

/// The configuration text stored in an image of `domid`: the one it was
/// built or restored with, kept in xenstore; for a domain without one,
/// composed from its file as it is now.
pub fn config_text(xs: &mut Client, domid: DomId) -> Result<Vec<u8>, ImageError> {
    let src = domstore::config_source(xs, domid).ok_or(ImageError::NoConfig(domid.0))?;
    if let Some(text) = src.text {
        return Ok(text.into_bytes());
    }
    let text = std::fs::read_to_string(&src.path)
        .map_err(|source| ImageError::ConfigFile { path: src.path.clone(), source })?;
    Ok(compose_config(&src.path, &src.overrides, &text).into_bytes())
}

/// The configuration text of an image: the file's `text` (from `path`),
/// then the `KEY=VALUE` overrides given after it, with both recorded in
/// comments that [`parse_config`] reads back.
pub fn compose_config(path: &str, overrides: &[String], text: &str) -> String {
    let mut out = format!("# xm-config: {path}\n");
    for o in overrides {
        out.push_str(&format!("# xm-override: {o}\n"));
    }
    out.push_str(text);
    out.push('\n');
    for o in overrides {
        out.push_str(o);
        out.push('\n');
    }
    out
}

/// The configuration and its source recorded in an image's config text.
pub fn parse_config(text: &[u8]) -> Result<(DomainConfig, ConfigSource), ImageError> {
    let text = String::from_utf8_lossy(text);
    let mut src = ConfigSource::default();
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("# xm-config: ") {
            src.path = p.to_string();
        } else if let Some(o) = line.strip_prefix("# xm-override: ") {
            src.overrides.push(o.to_string());
        }
    }
    let (cfg, _) = config::parse_str(&text, "<saved image>", &[])?;
    src.text = Some(text.into_owned());
    Ok((cfg, src))
}

/// Suspend `dom`, write its image to `w` and leave it suspended (the
/// caller destroys it, or cancels the suspend). On failure after the
/// suspend the guest is resumed.
pub fn save_domain(
    hv: &dyn Hypervisor,
    xs: &mut Client,
    dom: DomId,
    w: &mut dyn Write,
    progress: &Progress,
) -> Result<Summary, ImageError> {
    let start = Instant::now();
    let config = config_text(xs, dom)?;
    let version = hv.xen_version(dom0_abi::xen_version::XENVER_version, &mut []).unwrap_or(0);
    suspend::suspend(hv, xs, dom, suspend::SUSPEND_TIMEOUT)?;
    let suspended = Instant::now();
    let result = (|| -> Result<u64, ImageError> {
        let saver = Saver::new(hv, dom)?;
        progress.grow(saver.max_pfn() + 1);
        stream::write_prologue(w, &config, (version >> 16) as u32 & 0xffff, version as u32 & 0xffff)?;
        let pages = saver::save_suspended(&saver, w, progress)?;
        stream::write_epilogue(w)?;
        w.flush().map_err(|source| StreamError::Io { what: "writing the image", source })?;
        Ok(pages)
    })();
    match result {
        Ok(pages) => Ok(Summary { pages, downtime: suspended.elapsed(), total: start.elapsed() }),
        Err(e) => {
            if let Err(c) = suspend::cancel(hv, dom) {
                eprintln!("xm: resuming domain {} after the failed save: {c}", dom.0);
            }
            Err(e)
        }
    }
}

/// Check a whole image without touching the hypervisor: headers, every
/// record's framing and contents, and the END records.
pub fn validate(r: &mut dyn Read) -> Result<(), ImageError> {
    let p = stream::read_prologue(r)?;
    if p.json {
        return Err(ImageError::Json);
    }
    parse_config(&p.config)?;
    let mut max_pfn = None;
    loop {
        let rec = Record::read(r)?;
        match rec.rtype {
            rec::END => break,
            rec::X86_PV_P2M_FRAMES => max_pfn = Some(stream::P2mFrames::decode(&rec.body)?.end_pfn as u64),
            rec::PAGE_DATA => {
                let m = max_pfn.ok_or_else(|| StreamError::Corrupt("PAGE_DATA before X86_PV_P2M_FRAMES".into()))?;
                PageData::check(&rec.body, m)?;
            }
            rec::X86_PV_INFO => {
                stream::PvInfo::decode(&rec.body)?;
            }
            rec::X86_TSC_INFO => {
                stream::TscInfo::decode(&rec.body)?;
            }
            rec::SHARED_INFO if rec.body.len() != stream::PAGE_SIZE => {
                return Err(StreamError::Corrupt(format!("SHARED_INFO of {} bytes", rec.body.len())).into())
            }
            rec::SHARED_INFO
            | rec::STATIC_DATA_END
            | rec::X86_CPUID_POLICY
            | rec::X86_MSR_POLICY
            | rec::VERIFY
            | rec::X86_PV_VCPU_BASIC
            | rec::X86_PV_VCPU_EXTENDED
            | rec::X86_PV_VCPU_XSAVE
            | rec::X86_PV_VCPU_MSRS => {}
            t if t & rec::OPTIONAL != 0 => {}
            t => return Err(StreamError::Corrupt(format!("unsupported record type {t:#x}")).into()),
        }
    }
    let end = Record::read(r)?;
    if end.rtype != stream::LIBXL_REC_END {
        return Err(StreamError::Corrupt(format!("libxl record {:#x} after the libxc stream", end.rtype)).into());
    }
    Ok(())
}

/// Restore the image read from `r` as a new running domain. On failure
/// the new domain is destroyed and its nodes removed.
pub fn restore_domain(
    hv: &dyn Hypervisor,
    xs: &mut Client,
    r: &mut dyn Read,
    progress: &Progress,
) -> Result<(BuiltDomain, Summary), ImageError> {
    let start = Instant::now();
    let p = stream::read_prologue(r)?;
    if p.json {
        return Err(ImageError::Json);
    }
    let (cfg, src) = parse_config(&p.config)?;
    let names = XsNames { xs: std::cell::RefCell::new(&mut *xs), hv };
    if let Ok(Some(_)) = names.lookup(&cfg.name) {
        return Err(ImageError::NameInUse(cfg.name.clone()));
    }
    progress.grow(cfg.memory_mib * 256);
    let mut restorer = Restorer::create(hv, &cfg)?;
    let domid = restorer.domid();
    let result = (|| -> Result<(BuiltDomain, Instant), ImageError> {
        loop {
            let rec = Record::read(r)?;
            let before = restorer.pages;
            if restorer.record(&rec)? {
                break;
            }
            progress.inc(restorer.pages - before);
        }
        // The stream is complete once libxc's END is read: the guest's
        // downtime ends when it runs, not when the sender hangs up.
        let last_record = Instant::now();
        let rings = restorer.finish()?;
        log::debug!(
            "restore: domain {} built in {} ms after the last record",
            domid.0,
            last_record.elapsed().as_millis()
        );
        let built = BuiltDomain {
            domid,
            store_mfn: rings.store_mfn,
            store_evtchn: rings.store_evtchn,
            console_mfn: rings.console_mfn,
            console_evtchn: rings.console_evtchn,
        };
        let uuid = hv
            .getdomaininfo(domid)
            .map(|i| domstore::uuid_string(&i.handle))
            .unwrap_or_else(|_| format!("00000000-0000-4000-8000-{:012x}", domid.0));
        domstore::introduce(xs, &cfg, &built, &uuid, &src)
            .map_err(|source| ImageError::Xenstore { step: "introducing the restored domain", source })?;
        log::debug!("restore: introduced to xenstore {} ms after the last record", last_record.elapsed().as_millis());
        hv.unpausedomain(domid)
            .map_err(|source| RestoreError::Hypervisor { step: "unpausing the restored domain", source })?;
        Ok((built, last_record))
    })();
    match result {
        Ok((built, last)) => {
            let summary = Summary { pages: restorer.pages, downtime: last.elapsed(), total: start.elapsed() };
            Ok((built, summary))
        }
        Err(e) => {
            let _ = hv.destroydomain(domid);
            domstore::forget(xs, domid);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::save::stream::{pfinfo, P2mFrames, PvInfo, TscInfo, VcpuBlob};

    const CONFIG: &str = "# xm-config: /etc/xen/g.cfg\n# xm-override: memory=64\nname = 'g'\nkernel = '/boot/k'\nmemory = 32\n\nmemory=64\n";

    /// A small but complete image: two pages, one vcpu.
    fn image() -> Vec<u8> {
        let mut v = Vec::new();
        stream::write_prologue(&mut v, CONFIG.as_bytes(), 4, 17).unwrap();
        PvInfo { guest_width: 8, pt_levels: 4 }.encode().write(&mut v).unwrap();
        Record::new(rec::STATIC_DATA_END, Vec::new()).write(&mut v).unwrap();
        P2mFrames { start_pfn: 0, end_pfn: 1, pfns: vec![1] }.encode().write(&mut v).unwrap();
        let pd = PageData { pfns: vec![(0, pfinfo::L4TAB | pfinfo::LPINTAB), (1, pfinfo::NOTAB)], data: vec![7; 8192] };
        pd.encode().write(&mut v).unwrap();
        TscInfo::default().encode().write(&mut v).unwrap();
        Record::new(rec::SHARED_INFO, vec![0; 4096]).write(&mut v).unwrap();
        VcpuBlob { rtype: rec::X86_PV_VCPU_BASIC, vcpu_id: 0, context: vec![0; 64] }.encode().write(&mut v).unwrap();
        stream::write_epilogue(&mut v).unwrap();
        v
    }

    #[test]
    fn config_round_trip() {
        let (cfg, src) = parse_config(CONFIG.as_bytes()).unwrap();
        assert_eq!((cfg.name.as_str(), cfg.memory_mib), ("g", 64));
        assert_eq!(
            src,
            ConfigSource {
                path: "/etc/xen/g.cfg".into(),
                overrides: vec!["memory=64".into()],
                text: Some(CONFIG.into())
            }
        );
    }

    #[test]
    fn a_whole_image_validates() {
        validate(&mut &image()[..]).unwrap();
    }

    #[test]
    fn every_truncation_is_refused_as_truncated() {
        let img = image();
        for n in (0..img.len()).step_by(7).chain([img.len() - 1]) {
            let e = validate(&mut &img[..n]).unwrap_err().to_string();
            assert!(e.starts_with("truncated image: "), "{n}: {e}");
        }
    }

    #[test]
    fn corrupted_records_are_refused() {
        let img = image();
        let at = |needle: &[u8]| img.windows(needle.len()).position(|w| w == needle).unwrap();
        // The PAGE_DATA record: type 1 with a body of 8 + 16 + 8192 bytes.
        let page_data = at(&[1, 0, 0, 0, 0x18, 0x20, 0, 0]);
        let cases: Vec<(usize, u8, &str)> = vec![
            (page_data, 0x42, "unsupported record type 0x42"),
            (page_data + 8, 3, "beyond the guest's max pfn"),
            (page_data + 8, 0, "PAGE_DATA record with 0 pages"),
            (page_data + 16 + 7, 0x70, "unknown type 0x7"),
            (page_data + 16, 9, "beyond the guest's max pfn"),
            (page_data + 7, 0xff, "claims"),
        ];
        for (offset, value, want) in cases {
            let mut bad = img.clone();
            bad[offset] = value;
            let e = validate(&mut &bad[..]).unwrap_err().to_string();
            assert!(e.starts_with("corrupted image: ") && e.contains(want), "{offset}: {e}");
        }
    }
}
