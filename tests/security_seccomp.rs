//! Seccomp without silent holes (issue 9, item 9): a system-call name the
//! compiler does not know is an error, not a dropped rule; a filter past the
//! kernel's 4096 instructions is refused by the compiler, not truncated;
//! `socket(AF_VSOCK)` and `personality` outside docker's values are refused.
mod common;
use common::{TestRoot, have_root, probe_volume};
use glassbox::runtime::security::seccomp::{self, SeccompError};
use glassbox::runtime::spec::{Seccomp, SyscallArg, SyscallRule};

fn profile(rules: Vec<SyscallRule>) -> Seccomp {
    Seccomp {
        default_action: "SCMP_ACT_ALLOW".into(),
        default_errno_ret: None,
        architectures: vec![],
        syscalls: rules,
    }
}

fn deny(names: &[&str]) -> SyscallRule {
    SyscallRule {
        names: names.iter().map(|s| s.to_string()).collect(),
        action: "SCMP_ACT_ERRNO".into(),
        errno_ret: Some(1),
        args: vec![],
    }
}

/// A typo in a deny-list used to be logged and dropped: the call it meant
/// stayed allowed. Now the profile is refused, and the message names it.
#[test]
fn an_unknown_system_call_name_is_an_error() {
    let err = seccomp::compile(&profile(vec![deny(&["mount", "kexec_laod"])]))
        .expect_err("a profile naming kexec_laod compiled");
    assert!(
        matches!(&err, SeccompError::UnknownSyscall(name) if name == "kexec_laod"),
        "{err:?}"
    );
    assert!(err.to_string().contains("kexec_laod"), "{err}");
    // A real call of another architecture is no typo: it is left out on this
    // one (its number means something else here) and said so.
    #[cfg(target_arch = "x86_64")]
    let foreign = "arm_fadvise64_64";
    #[cfg(target_arch = "aarch64")]
    let foreign = "arch_prctl";
    let f = seccomp::compile(&profile(vec![deny(&["mount", foreign])])).unwrap();
    assert_eq!(f.other_arch, [foreign]);
    assert_eq!(f.syscalls, 1);
}

/// The kernel takes at most 4096 classic-BPF instructions (BPF_MAXINSNS); the
/// program length used to be cast to u16, so a longer one was silently cut.
#[test]
fn a_filter_past_4096_instructions_is_refused() {
    let names: Vec<String> = syscalls::Sysno::iter()
        .map(|s| s.name().to_string())
        .collect();
    assert!(names.len() > 300, "{} names", names.len());
    // One argument test per call: 4 + 1 instructions, plus the call's test
    // and its default: 7 per call, some 2600 in all. Each call compares
    // with values of its own: calls whose rules compile alike share one
    // range test (seccomp::compile), which would shrink the program ...
    let rules = |tests: u64| -> Vec<SyscallRule> {
        names
            .iter()
            .enumerate()
            .flat_map(|(i, name)| {
                (0..tests).map(move |t| SyscallRule {
                    names: vec![name.clone()],
                    action: "SCMP_ACT_ERRNO".into(),
                    errno_ret: Some(1),
                    args: vec![SyscallArg {
                        index: 0,
                        value: i as u64 * 8 + t,
                        value_two: 0,
                        op: "SCMP_CMP_EQ".into(),
                    }],
                })
            })
            .collect()
    };
    let small = seccomp::compile(&profile(rules(1))).unwrap();
    assert!(small.len() <= 4096, "{}", small.len());
    // ... and with a second rule per call (5 more each), past 4096.
    let err =
        seccomp::compile(&profile(rules(2))).expect_err("a filter past 4096 instructions compiled");
    assert!(
        matches!(err, SeccompError::TooManyInstructions { count, .. } if count > 4096),
        "{err:?}"
    );
    assert!(err.to_string().contains("4096"), "{err}");
    // The default profile is far inside the limit.
    let default = seccomp::compile(&seccomp::default_profile()).unwrap();
    assert!(default.len() < 4096 / 4, "{}", default.len());
}

fn probe(root: &TestRoot, extra: &[&str], args: &[&str]) -> String {
    let volume = probe_volume();
    let mut all = vec!["run", "--rm", "--network", "none", "-v", &volume];
    all.extend_from_slice(extra);
    all.extend_from_slice(&["busybox", "/probe"]);
    all.extend_from_slice(args);
    String::from_utf8_lossy(&root.glassbox(&all).stdout)
        .trim()
        .to_string()
}

/// vsock reaches the hypervisor (or, on the host, its vsock services) from
/// any network namespace: docker's profile refuses the family.
#[test]
fn vsock_sockets_are_refused() {
    if !have_root("vsock_sockets_are_refused") {
        return;
    }
    let root = TestRoot::new("sec-vsock");
    const AF_VSOCK: &str = "40";
    const SOCK_STREAM: &str = "1";
    let got = probe(&root, &[], &["socket", AF_VSOCK, SOCK_STREAM]);
    assert!(got.starts_with("EPERM"), "socket(AF_VSOCK) inside: {got}");
    // Ordinary sockets still work ...
    let inet = probe(&root, &[], &["socket", "2", SOCK_STREAM]);
    assert!(inet.starts_with("ok"), "socket(AF_INET): {inet}");
    // ... and without the filter the family is there (this kernel has vsock),
    // so the EPERM above is the filter's.
    let free = probe(
        &root,
        &["--security-opt", "seccomp=unconfined"],
        &["socket", AF_VSOCK, SOCK_STREAM],
    );
    assert!(
        free.starts_with("ok") || free.starts_with("EAFNOSUPPORT"),
        "unconfined: {free}"
    );
}

/// personality(2) may only take docker's values: 0 (PER_LINUX), 8
/// (PER_LINUX32), 0x20000 (UNAME26), 0x20008, and 0xffffffff (query). Others,
/// such as ADDR_NO_RANDOMIZE (0x0040000), which turns ASLR off for what the
/// process execs next, fail with EPERM.
#[test]
fn personality_takes_only_dockers_values() {
    if !have_root("personality_takes_only_dockers_values") {
        return;
    }
    let root = TestRoot::new("sec-persona");
    for allowed in ["0", "0x8", "0x20000", "0x20008", "0xffffffff"] {
        let got = probe(&root, &[], &["personality", allowed]);
        assert!(got.starts_with("ok"), "personality({allowed}): {got}");
    }
    for refused in ["0x0040000", "0x0400000", "0x0000001"] {
        let got = probe(&root, &[], &["personality", refused]);
        assert!(got.starts_with("EPERM"), "personality({refused}): {got}");
    }
    let free = probe(
        &root,
        &["--security-opt", "seccomp=unconfined"],
        &["personality", "0x0040000"],
    );
    assert!(free.starts_with("ok"), "unconfined: {free}");
}
