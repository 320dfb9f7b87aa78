//! Short human formats shared by the reducer's messages and the views.

/// `850ms`, `12.3s`, `4m05s`, `1h02m`.
#[must_use]
pub fn fmt_ms(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{}.{}s", ms / 1000, ms % 1000 / 100),
        60_000..3_600_000 => format!("{}m{:02}s", ms / 60_000, ms % 60_000 / 1000),
        _ => format!("{}h{:02}m", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

/// The UTC time of day of a Unix time in seconds: `14:03:59`.
#[must_use]
pub fn clock(unix_secs: u32) -> String {
    let s = unix_secs % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_format() {
        assert_eq!(fmt_ms(850), "850ms");
        assert_eq!(fmt_ms(12_345), "12.3s");
        assert_eq!(fmt_ms(245_000), "4m05s");
        assert_eq!(fmt_ms(3_720_000), "1h02m");
    }

    #[test]
    fn clock_is_a_plain_time_of_day() {
        // 2026-03-01 12:00:10 UTC
        assert_eq!(clock(1_772_366_410), "12:00:10");
        assert_eq!(clock(59), "00:00:59");
    }
}
