//! End-to-end tests of configuration reading: text to typed configuration
//! and to the dry-run SXP.

use super::*;
use crate::sxp;

const MINIMAL: &str = "name = 'g'\nkernel = '/boot/vmlinuz'\n";

fn cfg(text: &str) -> DomainConfig {
    parse_str(text, "guest.cfg", &[]).unwrap().0
}

fn err(text: &str) -> String {
    parse_str(text, "guest.cfg", &[]).unwrap_err().to_string()
}

fn with(extra: &str) -> String {
    format!("{MINIMAL}{extra}")
}

#[test]
fn defaults() {
    let c = cfg(MINIMAL);
    assert_eq!(c.name, "g");
    assert_eq!(c.kernel, "/boot/vmlinuz");
    assert_eq!(c.memory_mib, 128);
    assert_eq!(c.maxmem_mib, 128);
    assert_eq!(c.vcpus, 1);
    assert_eq!(
        (c.on_poweroff, c.on_reboot, c.on_crash),
        (Action::Destroy, Action::Restart, Action::Restart)
    );
    assert!(c.vifs.is_empty() && c.disks.is_empty() && c.cpus.is_none());
    assert_eq!(cfg(&with("memory = 300\n")).maxmem_mib, 300);
}

#[test]
fn required_keys() {
    assert_eq!(
        err("kernel = '/k'\n"),
        "guest.cfg: required key 'name' is missing (every domain needs a name)"
    );
    assert_eq!(
        err("name = 'g'\n"),
        "guest.cfg: required key 'kernel' is missing (a PV guest boots a kernel image)"
    );
}

#[test]
fn value_errors_name_the_line() {
    assert_eq!(
        err("name = 'g'\nkernel = '/k'\nmemory = \"lots\"\n"),
        "guest.cfg:3: 'memory' must be an integer (MiB), found \"lots\""
    );
    assert_eq!(
        err(&with("memory = [1]\n")),
        "guest.cfg:3: 'memory' must be an integer (MiB), found a list"
    );
    assert_eq!(
        err(&with("memory = 0\n")),
        "guest.cfg:3: 'memory' must be an integer (MiB), found 0"
    );
    assert_eq!(
        err(&with("memory = 256\nmaxmem = 128\n")),
        "guest.cfg:4: 'maxmem' must be at least memory (256 MiB), found 128"
    );
    assert_eq!(
        err(&with("vcpus = 0\n")),
        "guest.cfg:3: 'vcpus' must be an integer from 1 to 4096, found 0"
    );
    assert_eq!(
        err("name = 5\nkernel = '/k'\n"),
        "guest.cfg:1: 'name' must be a string, found 5"
    );
    assert!(err("name = 'a b'\nkernel = '/k'\n")
        .starts_with("guest.cfg:1: 'name' must be a domain name"));
    assert!(err("name = '42'\nkernel = '/k'\n")
        .starts_with("guest.cfg:1: 'name' must be a domain name"));
    assert_eq!(
        err(&with("on_crash = 'explode'\n")),
        "guest.cfg:3: 'on_crash' must be one of destroy, restart, preserve, rename-restart, coredump-destroy, coredump-restart, found \"explode\""
    );
    assert_eq!(
        err(&with("cpu_weight = 0\n")),
        "guest.cfg:3: 'cpu_weight' must be an integer from 1 to 65535, found 0"
    );
    assert!(err(&with("cpu_cap = 70000\n"))
        .starts_with("guest.cfg:3: 'cpu_cap' must be an integer from 0 to 65535"));
    assert_eq!(
        err(&with("builder = 'hvm'\n")),
        "guest.cfg:3: builder 'hvm' is not supported: only PV guests (builder = 'linux') can be built"
    );
    assert_eq!(cfg(&with("builder = 'linux'\n")).name, "g");
    assert_eq!(
        err(&with("disk = ['phy:/dev/a,xvda,w', 5]\n")),
        "guest.cfg:3: 'disk' must be a list of strings, found element 5"
    );
}

#[test]
fn integers_accept_numeric_strings() {
    let c = cfg(&with("memory = '256'\nvcpus = \"4\"\n"));
    assert_eq!((c.memory_mib, c.vcpus), (256, 4));
}

#[test]
fn all_actions() {
    for (s, a) in Action::ALL {
        let c = cfg(&with(&format!("on_reboot = '{s}'\n")));
        assert_eq!(c.on_reboot, a);
        assert_eq!(a.as_str(), s);
    }
}

#[test]
fn unknown_keys_warn() {
    let (c, w) = parse_str(
        &with("frobnicate = 1\nbootloader = '/usr/bin/pygrub'\n"),
        "guest.cfg",
        &[],
    )
    .unwrap();
    assert_eq!(c.name, "g");
    let w: Vec<String> = w.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        [
            "guest.cfg:3: warning: unknown key 'frobnicate' ignored",
            "guest.cfg:4: warning: 'bootloader' is not supported by this xm (PV guests only); ignored",
        ]
    );
}

#[test]
fn vif_parsing() {
    let (v, unknown) = Vif::parse("mac=00:16:3E:01:02:03, bridge=xenbr0,ip=10.0.0.2 10.0.0.3/24, model=e1000, script=vif-bridge, vifname=vif-g, rate=10Mb/s").unwrap();
    assert_eq!(v.mac, Some(MacAddr([0x00, 0x16, 0x3e, 1, 2, 3])));
    assert_eq!(v.mac.unwrap().to_string(), "00:16:3e:01:02:03");
    assert_eq!(v.bridge.as_deref(), Some("xenbr0"));
    assert_eq!(v.ip.as_deref(), Some("10.0.0.2 10.0.0.3/24"));
    assert_eq!(v.model.as_deref(), Some("e1000"));
    assert_eq!(v.script.as_deref(), Some("vif-bridge"));
    assert_eq!(v.vifname.as_deref(), Some("vif-g"));
    assert_eq!(unknown, ["rate"]);
    assert_eq!(Vif::parse("").unwrap(), (Vif::default(), vec![]));
    assert_eq!(
        Vif::parse("mac=00:16:3e:01:02").unwrap_err(),
        VifError::BadMac("00:16:3e:01:02".into())
    );
    assert_eq!(
        Vif::parse("mac=00:16:3e:01:02:0g").unwrap_err(),
        VifError::BadMac("00:16:3e:01:02:0g".into())
    );
    assert_eq!(
        Vif::parse("mac=001:6:3e:01:02:03").unwrap_err(),
        VifError::BadMac("001:6:3e:01:02:03".into())
    );
    assert_eq!(
        Vif::parse("mac=01:16:3e:01:02:03").unwrap_err(),
        VifError::MulticastMac("01:16:3e:01:02:03".into())
    );
    assert_eq!(
        Vif::parse("bridge").unwrap_err(),
        VifError::NotKeyValue("bridge".into())
    );
    assert_eq!(
        Vif::parse("bridge=").unwrap_err(),
        VifError::Empty("bridge".into())
    );
    assert_eq!(
        Vif::parse("ip=10.0.0.300").unwrap_err(),
        VifError::BadIp("10.0.0.300".into())
    );
    assert_eq!(
        err(&with("vif = [ '',\n  'mac=00:16:3e:zz:02:03' ]\n")),
        "guest.cfg:4: vif \"mac=00:16:3e:zz:02:03\": invalid MAC address '00:16:3e:zz:02:03' (expected six hex octets like 00:16:3e:01:02:03)"
    );
    let (_, w) = parse_str(&with("vif = ['rate=1']\n"), "guest.cfg", &[]).unwrap();
    assert_eq!(
        w[0].to_string(),
        "guest.cfg:3: warning: unknown vif item 'rate' ignored"
    );
}

#[test]
fn disk_parsing() {
    let d = Disk::parse("phy:/dev/vg/x,hda1,w").unwrap();
    assert_eq!(
        d,
        Disk {
            backend: DiskBackend::Phy,
            path: "/dev/vg/x".into(),
            vdev: "hda1".into(),
            devid: VirtualDevice(769),
            mode: DiskMode::ReadWrite
        }
    );
    assert_eq!(d.uname(), "phy:/dev/vg/x");
    let d = Disk::parse("file:/var/xen/swap, hda2, r").unwrap();
    assert_eq!((d.backend, d.mode), (DiskBackend::File, DiskMode::ReadOnly));
    let d = Disk::parse("tap:aio:/img/a.img,xvda,w!").unwrap();
    assert_eq!(d.backend, DiskBackend::Tap("aio".into()));
    assert_eq!(d.mode, DiskMode::ForceReadWrite);
    assert_eq!(d.uname(), "tap:aio:/img/a.img");
    for ok in ["xvdb", "xvdaa1", "sda", "sdb15", "hdt", "51713"] {
        assert!(Disk::parse(&format!("phy:/dev/a,{ok},r")).is_ok(), "{ok}");
    }
    assert_eq!(
        Disk::parse("phy:/dev/a,hda1").unwrap_err(),
        DiskError::FieldCount(2)
    );
    assert_eq!(
        Disk::parse("nfs:/x,hda1,w").unwrap_err(),
        DiskError::BadBackend("nfs".into())
    );
    assert_eq!(
        Disk::parse("/dev/a,hda1,w").unwrap_err(),
        DiskError::BadBackend("/dev/a".into())
    );
    assert_eq!(
        Disk::parse("tap:foo:/x,hda1,w").unwrap_err(),
        DiskError::BadTapDriver("foo".into())
    );
    assert_eq!(
        Disk::parse("phy:,hda1,w").unwrap_err(),
        DiskError::NoPath("phy:".into())
    );
    for bad in ["hdz", "xvd", "vda", "xvda1x", "hda1:cdrom", "ioemu:vda"] {
        assert_eq!(
            Disk::parse(&format!("phy:/dev/a,{bad},w")).unwrap_err(),
            DiskError::BadVdev(bad.into())
        );
    }
    assert_eq!(
        Disk::parse("phy:/dev/a,hda1,rw").unwrap_err(),
        DiskError::BadMode("rw".into())
    );
    assert_eq!(
        err(&with("disk = ['phy:/dev/a,hda1,x']\n")),
        "guest.cfg:3: disk \"phy:/dev/a,hda1,x\": invalid mode 'x' (expected r, w or w!)"
    );
    // A device-model prefix is dropped: a PV guest gets the plain name.
    let d = Disk::parse("file:/usr/local/serv1.ext3,ioemu:sda1,w").unwrap();
    assert_eq!((d.vdev.as_str(), d.devid), ("sda1", VirtualDevice(2049)));
    // phy: by name (relative names are under /dev) or major:minor.
    let phy = |s: &str| Disk::parse(&format!("phy:{s},xvda,w")).unwrap().phy_device().unwrap();
    assert_eq!(phy("mapper/vg01-domU1slash"), PhyDevice::Path("/dev/mapper/vg01-domU1slash".into()));
    assert_eq!(phy("/dev/xenimages/noc.grid"), PhyDevice::Path("/dev/xenimages/noc.grid".into()));
    assert_eq!(phy("8:3"), PhyDevice::Number(8, 3));
    assert_eq!(phy("0xfd:0x10"), PhyDevice::Number(253, 16));
    assert_eq!(Disk::parse("file:/x,xvda,w").unwrap().phy_device(), None);
    // Two disks on one virtual device.
    assert_eq!(
        err(&with("disk = ['phy:/dev/a,hda1,w',
 'phy:/dev/b,769,w']
")),
        "guest.cfg:4: disk \"phy:/dev/b,769,w\": virtual device '769' is the same device as 'hda1' of an earlier disk"
    );
    // A single string is a one-element list, as in xm.
    assert_eq!(cfg(&with("disk = 'phy:/dev/a,xvda,w'\n")).disks.len(), 1);
}

#[test]
fn cpus_key() {
    let set = |s: &str| s.parse::<CpuSet>().unwrap();
    assert_eq!(
        cfg(&with("cpus = '0-3,^2'\n")).cpus,
        Some(CpuAffinity::All(set("0,1,3")))
    );
    assert_eq!(
        cfg(&with("cpus = 2\n")).cpus,
        Some(CpuAffinity::All(set("2")))
    );
    assert_eq!(
        cfg(&with("cpus = ['1', 2, 'all']\n")).cpus,
        Some(CpuAffinity::PerVcpu(vec![set("1"), set("2"), CpuSet::All]))
    );
    assert_eq!(
        err(&with("cpus = '3-1'\n")),
        "guest.cfg:3: cpus \"3-1\": range '3-1' is backwards"
    );
    assert_eq!(
        err(&with("cpus = ['0',\n '^0']\n")),
        "guest.cfg:4: cpus \"^0\": the list selects no cpus"
    );
}

#[test]
fn overrides_apply_after_the_file() {
    let ov = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (c, _) = parse_str(
        &with("memory = 128\n"),
        "guest.cfg",
        &ov(&[
            "memory=256",
            "name=foo",
            "extra=console=hvc0 quiet",
            "vif=['bridge=xenbr1']",
        ]),
    )
    .unwrap();
    assert_eq!(c.memory_mib, 256);
    assert_eq!(c.name, "foo");
    assert_eq!(c.extra.as_deref(), Some("console=hvc0 quiet"));
    assert_eq!(c.vifs[0].bridge.as_deref(), Some("xenbr1"));
    // Overrides can supply required keys.
    let (c, _) = parse_str("name = 'g'\n", "guest.cfg", &ov(&["kernel=/boot/k"])).unwrap();
    assert_eq!(c.kernel, "/boot/k");
    assert_eq!(
        parse_str(MINIMAL, "guest.cfg", &ov(&["memory=lots"]))
            .unwrap_err()
            .to_string(),
        "command-line override 'memory=lots': 'memory' must be an integer (MiB), found \"lots\""
    );
}

#[test]
fn dryrun_output() {
    let text = "\
name = 'guest1'
kernel = '/boot/vmlinuz'
ramdisk = '/boot/initrd'
memory = 256
maxmem = 512
vcpus = 2
root = '/dev/xvda1 ro'
extra = 'console=hvc0'
disk = ['phy:/dev/vg/x,hda1,w']
vif = ['mac=00:16:3e:01:02:03, bridge=xenbr0', '']
";
    let out = sxp::domain(&cfg(text)).render_block();
    assert_eq!(
        out,
        "\
(vm
    (name guest1)
    (memory 256)
    (maxmem 512)
    (vcpus 2)
    (on_poweroff destroy)
    (on_reboot restart)
    (on_crash restart)
    (image (linux (kernel /boot/vmlinuz) (ramdisk /boot/initrd) (root '/dev/xvda1 ro') (args console=hvc0)))
    (device (vbd (uname phy:/dev/vg/x) (dev hda1) (mode w)))
    (device (vif (mac 00:16:3e:01:02:03) (bridge xenbr0)))
    (device (vif))
)
"
    );
    let c = cfg(&with(
        "cpus = ['0-1', '3']\ncpu_weight = 512\ncpu_cap = 0\n",
    ));
    let out = sxp::domain(&c).render_block();
    assert!(
        out.contains("\n    (cpus (0-1 3))\n    (cpu_weight 512)\n    (cpu_cap 0)\n"),
        "{out}"
    );
}

/// The seeds' four configuration files, verbatim.
const SEEDS: [(&str, &str); 4] = [
    ("000-nluug-mijndomul.cfg", include_str!("seeds/000-nluug-mijndomul.cfg")),
    ("001-latvian-serv1.cfg", include_str!("seeds/001-latvian-serv1.cfg")),
    ("003-p2v-demo1.cfg", include_str!("seeds/003-p2v-demo1.cfg")),
    ("004-aoe-noc.grid.cfg", include_str!("seeds/004-aoe-noc.grid.cfg")),
];

#[test]
fn seed_configs_parse_verbatim() {
    let parse = |i: usize| parse_str(SEEDS[i].1, SEEDS[i].0, &[]).unwrap_or_else(|e| panic!("{e}"));
    let mac = |s: &str| Some(s.parse::<MacAddr>().unwrap());

    let (c, w) = parse(0);
    assert_eq!(c.name, "mijndomul");
    let disks: Vec<_> = c.disks.iter().map(|d| (d.uname(), d.devid.0, d.mode)).collect();
    assert_eq!(
        disks,
        [
            ("phy:mapper/vg01-domU1slash".to_string(), 769, DiskMode::ReadWrite),
            ("file:/var/xen/domU1/swap01.swp".to_string(), 770, DiskMode::ReadWrite),
            ("phy:mapper/vg01-domU1slashhome".to_string(), 771, DiskMode::ReadWrite),
        ]
    );
    assert_eq!(c.disks[0].phy_device(), Some(PhyDevice::Path("/dev/mapper/vg01-domU1slash".into())));
    assert_eq!((c.vifs[0].mac, c.vifs[0].bridge.as_deref()), (mac("aa:00:00:00:00:76"), Some("xen-br0")));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].message.contains("'nics'"), "{}", w[0]);

    let (c, w) = parse(1);
    assert_eq!((c.name.as_str(), c.disks.len(), w.len()), ("serv1", 1, 0));
    assert_eq!((c.disks[0].vdev.as_str(), c.disks[0].devid.0), ("sda1", 2049));
    assert_eq!(c.disks[0].backend, DiskBackend::File);
    assert_eq!((c.vifs[0].mac, c.vifs[0].bridge.as_deref()), (mac("00:16:3e:01:02:03"), Some("xenbr0")));

    let (c, w) = parse(2);
    assert_eq!((c.name.as_str(), w.len()), ("demo1", 0));
    assert_eq!(c.disks[0].path, "//home/matthias/xen/demo1");
    assert_eq!(c.disks[1].devid.0, 770);
    assert_eq!((c.vifs[0].mac, c.vifs[0].bridge.as_deref()), (None, Some("xenbr0")));
    assert_eq!(c.on_crash, Action::Restart);

    let (c, w) = parse(3);
    assert_eq!((c.name.as_str(), w.len()), ("noc.grid", 0));
    assert_eq!((c.disks[0].devid.0, c.disks[0].path.as_str()), (2049, "/dev/xenimages/noc.grid"));
    assert_eq!((c.vifs[0].mac, c.vifs[0].bridge.as_deref()), (mac("00:16:3e:00:00:13"), Some("xenbr1")));
}
