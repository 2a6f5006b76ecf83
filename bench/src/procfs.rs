//! Reading Linux `/proc`: the server's peak resident memory and a description of the machine the
//! numbers were measured on.

use std::fs;

use serde::Serialize;

/// `VmHWM` ("high water mark", the peak resident set size) of `/proc/<pid>/status`, in KiB.
pub fn parse_vm_hwm(status: &str) -> Option<u64> {
    status_kib(status, "VmHWM")
}

/// A `Name:   1234 kB` line of `/proc/<pid>/status`, in KiB.
fn status_kib(status: &str, name: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        if key != name {
            return None;
        }
        let mut parts = value.split_whitespace();
        let number = parts.next()?.parse().ok()?;
        // The kernel has always written kB here; anything else is not what we think it is.
        (parts.next() == Some("kB")).then_some(number)
    })
}

/// Peak resident memory of a running process, in KiB (`None` when it cannot be read, e.g. the
/// process has exited or this is not Linux).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    parse_vm_hwm(&fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// The first `model name` of `/proc/cpuinfo` (x86), or its `Model`/`CPU part` lines elsewhere.
pub fn parse_cpu_model(cpuinfo: &str) -> Option<String> {
    ["model name", "Model", "cpu model"]
        .iter()
        .find_map(|wanted| {
            cpuinfo.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                (key.trim() == *wanted && !value.trim().is_empty())
                    .then(|| value.trim().to_string())
            })
        })
}

/// Where the numbers were measured, printed above the table and included in `--json`.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// `std::thread::available_parallelism()`, what `nproc` prints.
    pub cores: usize,
    pub cpu_model: String,
    /// `uname -r`.
    pub kernel: String,
}

impl Machine {
    pub fn detect() -> Machine {
        let read = |path: &str| fs::read_to_string(path).unwrap_or_default();
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model: parse_cpu_model(&read("/proc/cpuinfo")).unwrap_or_else(|| "unknown".into()),
            kernel: match read("/proc/sys/kernel/osrelease").trim() {
                "" => "unknown".to_string(),
                k => k.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\ttessera\nUmask:\t0022\nState:\tS (sleeping)\n\
        VmPeak:\t 1234567 kB\nVmSize:\t 1200000 kB\nVmLck:\t       0 kB\n\
        VmHWM:\t   45678 kB\nVmRSS:\t   40000 kB\nThreads:\t4\n";

    #[test]
    fn reads_the_peak_resident_set() {
        assert_eq!(parse_vm_hwm(STATUS), Some(45678));
    }

    #[test]
    fn does_not_confuse_vm_hwm_with_similar_lines() {
        // VmPeak is virtual memory, VmRSS the current (not peak) resident set.
        assert_eq!(status_kib(STATUS, "VmRSS"), Some(40000));
        assert_eq!(parse_vm_hwm("VmPeak:\t 99 kB\nVmRSS:\t 42 kB\n"), None);
    }

    #[test]
    fn refuses_malformed_or_unexpected_units() {
        assert_eq!(parse_vm_hwm("VmHWM:\t lots kB\n"), None);
        assert_eq!(parse_vm_hwm("VmHWM:\t 12 MB\n"), None);
        assert_eq!(parse_vm_hwm("VmHWM:\n"), None);
        assert_eq!(parse_vm_hwm(""), None);
    }

    #[test]
    fn reads_the_cpu_model() {
        let x86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel\t\t: 1\n\
            model name\t: AMD EPYC 7B13\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(parse_cpu_model(x86).as_deref(), Some("AMD EPYC 7B13"));
        let arm = "processor\t: 0\nBogoMIPS\t: 50.00\nModel\t\t: Raspberry Pi 4 Model B\n";
        assert_eq!(
            parse_cpu_model(arm).as_deref(),
            Some("Raspberry Pi 4 Model B")
        );
        assert_eq!(parse_cpu_model("processor\t: 0\n"), None);
    }

    #[test]
    fn the_own_process_has_a_peak_rss() {
        // Linux only, like the whole runner.
        let kib = peak_rss_kib(std::process::id()).expect("/proc/self/status is readable");
        assert!(kib > 0);
    }
}
