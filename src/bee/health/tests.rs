//! Health sampling: the /proc formats, rates between two readings, and
//! the real /proc of this machine.

use super::*;

const STAT: &str = "cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 50 2 25 400 10 1 1 0 0 0\nintr 1\n";
const MEMINFO: &str =
    "MemTotal:       8000000 kB\nMemFree:         1000000 kB\nMemAvailable:    6000000 kB\n";
const VMSTAT: &str = "nr_free_pages 1\npswpin 40\npswpout 2\npgfault 9\n";
const NET_DEV: &str = "Inter-|   Receive |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets\n    lo: 999 1 0 0 0 0 0 0 999 1 0 0 0 0 0 0\n  eth0: 1000 10 0 0 0 0 0 0 300 3 0 0 0 0 0 0\n  eth1: 24 1 0 0 0 0 0 0 6 1 0 0 0 0 0 0\n";

#[test]
fn proc_formats_parse() {
    // busy = all - idle - iowait = 980 - 800 - 20.
    assert_eq!(parse_stat(STAT), Some((160, 980)));
    assert_eq!(parse_meminfo(MEMINFO), Some(25.0));
    assert_eq!(parse_vmstat(VMSTAT), 42);
    // Loopback is not the generator's network.
    assert_eq!(parse_net_dev(NET_DEV), (1024, 306));
    assert_eq!(parse_stat("intr 1\n"), None);
    assert_eq!(parse_meminfo("MemTotal: 0 kB\nMemAvailable: 0 kB\n"), None);
}

#[test]
fn rates_come_from_two_readings() {
    let a = Counters {
        cpu_busy: 100,
        cpu_total: 1000,
        swap_pages: 10,
        rx_bytes: 1_000,
        tx_bytes: 0,
    };
    let b = Counters {
        cpu_busy: 190,
        cpu_total: 1100,
        swap_pages: 30,
        rx_bytes: 5_000,
        tx_bytes: 2_000,
    };
    let s = sample(&a, &b, 33.0, 2.0, 7);
    assert_eq!(s.cpu_pct, 90.0);
    assert_eq!(s.swap_pages_per_s, 10.0);
    assert_eq!(
        (s.net_rx_bytes_per_s, s.net_tx_bytes_per_s),
        (2_000.0, 1_000.0)
    );
    // Counters that went backwards (a wrapped interface) are not negative.
    let back = sample(&b, &a, 33.0, 2.0, 7);
    assert_eq!((back.cpu_pct, back.net_rx_bytes_per_s), (0.0, 0.0));
}

#[test]
fn this_machines_proc_reads_and_a_busy_thread_shows() {
    let (c, mem) = read_now().expect("/proc readable on Linux");
    assert!(c.cpu_busy <= c.cpu_total && c.cpu_total > 0, "{c:?}");
    assert!((0.0..=100.0).contains(&mem), "{mem}");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let into = seen.clone();
    let sampler = Sampler::start("bee-1", Duration::from_millis(100), move |s| {
        into.lock().unwrap().push(s)
    })
    .unwrap();
    // One core spinning: at least half of one core's share shows.
    let until = Instant::now() + Duration::from_millis(600);
    let mut x = 0u64;
    while Instant::now() < until {
        x = std::hint::black_box(x.wrapping_add(1));
    }
    let g = sampler.finish();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    assert!(g.samples >= 3, "{g:?}");
    assert_eq!(g.samples as usize, seen.lock().unwrap().len());
    assert!(g.cpu_max >= 50.0 / cores, "{g:?}");
    assert!(g.mem_max > 0.0 && g.bee == "bee-1", "{g:?}");
}
