//! GRUB ISO images built from `boot/grub.cfg`.

use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::workspace_root;

/// One boot module: a file and the command line GRUB passes with it.
#[derive(Clone, Debug)]
pub struct Module {
    /// File to copy into the image.
    pub file: PathBuf,
    /// Name inside the image (`/boot/<name>`).
    pub name: String,
    /// Arguments after the module path.
    pub args: String,
}

/// What goes into one image.
#[derive(Clone, Debug)]
pub struct ImageSpec {
    /// The hypervisor ELF.
    pub hypervisor: PathBuf,
    /// Hypervisor command line; `None` keeps the one in `boot/grub.cfg`.
    pub cmdline: Option<String>,
    /// Modules in order (dom0 kernel first, then its initrd).
    pub modules: Vec<Module>,
}

/// Rewrite the GRUB template: replace the hypervisor arguments if asked and
/// add a `module2` line per module after the `multiboot2` line.
pub fn render_grub_cfg(template: &str, spec: &ImageSpec) -> Result<String> {
    let mut out = String::new();
    let mut found = false;
    for line in template.lines() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("multiboot2 /boot/hypervisor") {
            found = true;
            let indent = &line[..line.len() - trimmed.len()];
            let args = spec.cmdline.as_deref().unwrap_or(rest.trim());
            out.push_str(&format!("{indent}multiboot2 /boot/hypervisor {args}\n"));
            for m in &spec.modules {
                out.push_str(&format!("{indent}module2 /boot/{} {}\n", m.name, m.args).replace(" \n", "\n"));
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !found {
        bail!("boot/grub.cfg has no 'multiboot2 /boot/hypervisor' line");
    }
    Ok(out)
}

/// Build the ISO at `out`.
pub fn make_iso(spec: &ImageSpec, out: &Path) -> Result<()> {
    let template_path = workspace_root().join("boot/grub.cfg");
    let template = fs::read_to_string(&template_path).with_context(|| format!("reading {}", template_path.display()))?;
    let staging = out.with_extension("d");
    let _ = fs::remove_dir_all(&staging);
    let boot = staging.join("boot");
    fs::create_dir_all(boot.join("grub")).context("creating the image staging directory")?;
    fs::write(boot.join("grub/grub.cfg"), render_grub_cfg(&template, spec)?)?;
    fs::copy(&spec.hypervisor, boot.join("hypervisor"))
        .with_context(|| format!("copying {}", spec.hypervisor.display()))?;
    for m in &spec.modules {
        fs::copy(&m.file, boot.join(&m.name)).with_context(|| format!("copying module {}", m.file.display()))?;
    }
    let output = Command::new("grub-mkrescue")
        .args(["-d", "/usr/lib/grub/i386-pc", "-o"])
        .arg(out)
        .arg(&staging)
        .output()
        .context("running grub-mkrescue")?;
    let _ = fs::remove_dir_all(&staging);
    if !output.status.success() {
        bail!("grub-mkrescue failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_and_modules_are_rendered() {
        let tpl = "set timeout=0\nmenuentry \"x\" {\n    multiboot2 /boot/hypervisor console=com1\n}\n";
        let spec = ImageSpec {
            hypervisor: "hv".into(),
            cmdline: Some("loglvl=all".into()),
            modules: vec![
                Module { file: "k".into(), name: "dom0".into(), args: "console=hvc0".into() },
                Module { file: "i".into(), name: "initrd".into(), args: String::new() },
            ],
        };
        let cfg = render_grub_cfg(tpl, &spec).unwrap();
        assert!(cfg.contains("    multiboot2 /boot/hypervisor loglvl=all\n"), "{cfg}");
        assert!(cfg.contains("    module2 /boot/dom0 console=hvc0\n    module2 /boot/initrd\n}"), "{cfg}");
        let keep = ImageSpec { cmdline: None, modules: vec![], ..spec };
        assert!(render_grub_cfg(tpl, &keep).unwrap().contains("multiboot2 /boot/hypervisor console=com1\n"));
        assert!(render_grub_cfg("nothing", &keep).is_err());
    }
}
