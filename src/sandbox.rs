//! Self-sandbox: once started, the process confines its own file access
//! (Landlock on Linux): read-write only in Sotto's own folders, read-only
//! where a program must read (system libraries, certificates, fonts,
//! configuration), nothing else. A bug in network-facing code then cannot
//! read the rest of the user's files. Kernels without Landlock: logged,
//! and Sotto carries on.

use crate::paths::Paths;

/// `off` disables the sandbox (for debugging).
pub const SANDBOX_ENV: &str = "SOTTO_SANDBOX";

/// What the sandbox achieved, for the user to see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxStatus {
    /// Every restriction is in force.
    Enforced,
    /// The kernel supports only part of what was asked.
    Partial,
    /// Not in force, and why.
    Unavailable(String),
    /// Turned off with `SOTTO_SANDBOX=off`.
    Disabled,
}

impl std::fmt::Display for SandboxStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Enforced => f.write_str("active: Sotto can only reach its own files"),
            Self::Partial => f.write_str("partly active (this kernel supports only part of it)"),
            Self::Unavailable(why) => write!(f, "not active: {why}"),
            Self::Disabled => f.write_str("turned off (SOTTO_SANDBOX=off)"),
        }
    }
}

/// Confines this process. Call once, after Sotto's folders exist and what
/// must be loaded from elsewhere is loaded.
pub fn confine(paths: &Paths) -> SandboxStatus {
    if std::env::var(SANDBOX_ENV).is_ok_and(|v| v == "off") {
        return SandboxStatus::Disabled;
    }
    let status = imp::confine(paths);
    match &status {
        SandboxStatus::Unavailable(why) => {
            tracing::warn!(reason = %why, "file sandbox not active");
        }
        other => tracing::debug!(status = ?other, "file sandbox"),
    }
    status
}

#[cfg(target_os = "linux")]
mod imp {
    use landlock::{
        ABI, Access, AccessFs, BitFlags, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
        path_beneath_rules,
    };

    use super::SandboxStatus;
    use crate::paths::Paths;

    /// Read (and run) only: libraries, certificates, fonts, DNS and TLS
    /// configuration, process information.
    const READ_ONLY: &[&str] = &[
        "/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc", "/opt", "/proc", "/sys", "/nix",
    ];

    /// Device nodes, named one by one: a rule on all of `/dev` would open
    /// `/dev/shm`, other programs' shared memory. The terminal is for
    /// password prompts (which switch its echo off), the GPU nodes for
    /// the GUI's renderer; missing ones are skipped.
    const DEVICES: &[&str] = &[
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/random",
        "/dev/urandom",
        "/dev/tty",
        "/dev/dri",
        "/dev/nvidiactl",
        "/dev/nvidia0",
        "/dev/nvidia-modeset",
        "/dev/nvidia-uvm",
    ];

    /// Read, write and device control: without `IoctlDev` a prompt cannot
    /// turn the terminal's echo off and would show the password.
    fn device_access(abi: ABI) -> BitFlags<AccessFs> {
        AccessFs::from_read(abi) | AccessFs::WriteFile | AccessFs::IoctlDev
    }

    pub fn confine(paths: &Paths) -> SandboxStatus {
        let abi = ABI::V5;
        let own = [
            &paths.config_dir,
            &paths.data_dir,
            &paths.cache_dir,
            &paths.runtime_dir,
        ];
        let result = Ruleset::default()
            .handle_access(AccessFs::from_all(abi))
            .and_then(|r| r.create())
            .and_then(|r| r.add_rules(path_beneath_rules(own, AccessFs::from_all(abi))))
            .and_then(|r| r.add_rules(path_beneath_rules(READ_ONLY, AccessFs::from_read(abi))))
            .and_then(|r| r.add_rules(path_beneath_rules(DEVICES, device_access(abi))))
            .and_then(|r| r.restrict_self());
        match result {
            Ok(status) => match status.ruleset {
                RulesetStatus::FullyEnforced => SandboxStatus::Enforced,
                RulesetStatus::PartiallyEnforced => SandboxStatus::Partial,
                RulesetStatus::NotEnforced => {
                    SandboxStatus::Unavailable("this kernel has no Landlock support".into())
                }
            },
            Err(e) => SandboxStatus::Unavailable(e.to_string()),
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::SandboxStatus;
    use crate::paths::Paths;

    /// macOS confines Sotto through the App Sandbox entitlements instead.
    pub fn confine(_paths: &Paths) -> SandboxStatus {
        SandboxStatus::Unavailable("the platform's own sandbox applies instead".into())
    }
}
