//! Reading Linux `/proc`: the server's peak resident memory and a description of the machine the
//! numbers were measured on.

use std::fs;
use std::time::Duration;

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

/// Current resident memory of a running process (`VmRSS`), in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(
        &fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
        "VmRSS",
    )
}

/// User plus system CPU time of `/proc/<pid>/stat`, in clock ticks (fields 14 and 15).
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may itself hold spaces and ')': the
    // fixed fields start after the last ')'. There, field 3 (state) is the first.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// The command name of `/proc/<pid>/stat` (field 2: between the first `(` and the last `)`).
pub fn parse_comm(stat: &str) -> Option<&str> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    (open < close).then(|| &stat[open + 1..close])
}

fn ticks_to_duration(ticks: u64) -> Option<Duration> {
    // SAFETY: sysconf only reads a configuration value.
    let per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_sec = u64::try_from(per_sec).ok().filter(|&t| t > 0)?;
    Some(Duration::from_secs_f64(ticks as f64 / per_sec as f64))
}

/// CPU time a process has used so far (`None` when it cannot be read).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    ticks_to_duration(parse_cpu_ticks(
        &fs::read_to_string(format!("/proc/{pid}/stat")).ok()?,
    )?)
}

/// CPU time used so far by every running process whose command name is `comm`, summed: for
/// `postgres`, the database server's own processes and every backend serving a connection.
/// A process that exits between two readings takes its time with it, so a difference of two
/// readings is a lower bound (the runner's connections to the database stay open while it
/// measures). `None` when `/proc` cannot be listed.
pub fn cpu_time_of_named(comm: &str) -> Option<Duration> {
    let mut ticks = 0;
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if parse_comm(&stat) == Some(comm) {
            ticks += parse_cpu_ticks(&stat).unwrap_or(0);
        }
    }
    ticks_to_duration(ticks)
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

/// The 1, 5 and 15 minute load averages of `/proc/loadavg`, as written there.
pub fn parse_loadavg(loadavg: &str) -> Option<String> {
    let fields: Vec<&str> = loadavg.split_whitespace().take(3).collect();
    (fields.len() == 3 && fields.iter().all(|f| f.parse::<f64>().is_ok())).then(|| fields.join(" "))
}

/// Where the numbers were measured, printed above the table and included in `--json`.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// `std::thread::available_parallelism()`, what `nproc` prints.
    pub cores: usize,
    pub cpu_model: String,
    /// `uname -r`.
    pub kernel: String,
    /// Load averages when the run started: other work on the machine shares the cores.
    pub loadavg_at_start: String,
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
            loadavg_at_start: parse_loadavg(&read("/proc/loadavg"))
                .unwrap_or_else(|| "unknown".into()),
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
    fn reads_user_plus_system_ticks_after_the_command_name() {
        let stat = "4242 (tessera) S 1 4242 4242 0 -1 4194560 1234 0 0 0 \
            150 37 0 0 20 0 6 0 98765 1234567 4321 18446744073709551615";
        assert_eq!(parse_cpu_ticks(stat), Some(187));
        // A command name with spaces and parentheses does not shift the fields.
        let odd = "7 (a b) (c)) R 1 7 7 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1 2 3";
        assert_eq!(parse_cpu_ticks(odd), Some(11));
        assert_eq!(parse_cpu_ticks("7 (x) R 1 2"), None);
        assert_eq!(parse_cpu_ticks("no parenthesis"), None);
    }

    #[test]
    fn command_names_may_hold_parentheses_and_spaces() {
        assert_eq!(parse_comm("42 (postgres) S 1 42"), Some("postgres"));
        assert_eq!(parse_comm("7 (a (b) c) R 1"), Some("a (b) c"));
        assert_eq!(parse_comm("garbage"), None);
    }

    #[test]
    fn processes_are_found_by_command_name() {
        let stat = fs::read_to_string("/proc/self/stat").expect("/proc/self/stat is readable");
        let own = parse_comm(&stat).expect("a command name").to_string();
        // Burn a little CPU so that at least one tick is on record.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        assert!(
            cpu_time_of_named(&own).expect("/proc is listable") > Duration::ZERO,
            "the processes named {own} have used no CPU"
        );
        assert_eq!(
            cpu_time_of_named("no-such-command-name").expect("/proc is listable"),
            Duration::ZERO
        );
    }

    #[test]
    fn the_own_process_has_used_cpu_time() {
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(30) {}
        assert!(
            cpu_time(std::process::id()).expect("/proc/self/stat is readable") > Duration::ZERO
        );
    }

    #[test]
    fn reads_the_three_load_averages() {
        assert_eq!(
            parse_loadavg("0.52 1.10 2.00 3/412 12345\n").as_deref(),
            Some("0.52 1.10 2.00")
        );
        assert_eq!(parse_loadavg("0.52 1.10\n"), None);
        assert_eq!(parse_loadavg("a b c d"), None);
    }

    #[test]
    fn the_own_process_has_a_peak_rss() {
        // Linux only, like the whole runner.
        let kib = peak_rss_kib(std::process::id()).expect("/proc/self/status is readable");
        assert!(kib > 0);
    }
}
