//! Time, in one place: the store's one timestamp format, the durations people
//! type (30m, 12h, 7d, 2w) and the relative times the TUI shows ("in 14m", "3d ago").
use chrono::{DateTime, Duration, SecondsFormat, Utc};

pub type Timestamp = DateTime<Utc>;

/// RFC 3339 UTC with second precision and a `Z`: the one format in the store, so
/// that string order is time order.
pub fn fmt_ts(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn parse_ts(s: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// Parses a date or a moment for `--at`: 2026-08-01 (midnight UTC) or RFC 3339.
pub fn parse_moment(s: &str) -> Option<Timestamp> {
    parse_ts(s).or_else(|| parse_ts(&format!("{}T00:00:00Z", s.trim())))
}

/// A duration as typed in a filter, a flag or the config: 30m, 12h, 7d, 2w.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].parse().ok().filter(|n| *n >= 0 && *n < 100_000)?;
    match unit {
        'm' => Some(Duration::minutes(n)),
        'h' => Some(Duration::hours(n)),
        'd' => Some(Duration::days(n)),
        'w' => Some(Duration::weeks(n)),
        _ => None,
    }
}

/// The shortest way to type a duration back: 2w, 7d, 12h, 30m.
pub fn fmt_duration(d: &Duration) -> String {
    let m = d.num_minutes();
    if m % (7 * 1440) == 0 && m > 0 {
        format!("{}w", m / (7 * 1440))
    } else if m % 1440 == 0 {
        format!("{}d", m / 1440)
    } else if m % 60 == 0 {
        format!("{}h", m / 60)
    } else {
        format!("{m}m")
    }
}

/// "14m", "3h", "2d", "1y": the coarsest unit that says enough.
pub fn human_duration(d: Duration) -> String {
    let s = d.num_seconds().abs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        86_400..31_536_000 => format!("{}d", s / 86_400),
        _ => format!("{}y", s / 31_536_000),
    }
}

/// "in 14m" or "3d ago".
pub fn relative(t: &Timestamp, now: Timestamp) -> String {
    let d = *t - now;
    match d.num_seconds() {
        -1..=1 => "just now".into(),
        s if s > 0 => format!("in {}", human_duration(d)),
        _ => format!("{} ago", human_duration(d)),
    }
}

/// A stored timestamp as "3d ago", or as stored when it does not parse.
pub fn when(ts: &str, now: Timestamp) -> String {
    parse_ts(ts).map(|t| relative(&t, now)).unwrap_or_else(|| ts.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip_and_refuse_nonsense() {
        for typed in ["30m", "12h", "3d", "2w"] {
            let d = parse_duration(typed).expect("parses");
            assert_eq!(fmt_duration(&d), typed);
        }
        assert_eq!(fmt_duration(&Duration::days(7)), "1w");
        assert!(parse_duration("7x").is_none());
        assert!(parse_duration("-3d").is_none());
        assert!(parse_duration("").is_none());
    }

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(human_duration(Duration::seconds(42)), "42s");
        assert_eq!(human_duration(Duration::minutes(14)), "14m");
        assert_eq!(human_duration(Duration::hours(-5)), "5h");
        assert_eq!(human_duration(Duration::days(3)), "3d");
        assert_eq!(human_duration(Duration::days(800)), "2y");
    }

    #[test]
    fn timestamps_sort_as_strings() {
        let a = parse_ts("2026-01-02T03:04:05+02:00").unwrap();
        assert_eq!(fmt_ts(&a), "2026-01-02T01:04:05Z");
    }

    #[test]
    fn moments_take_a_date_or_a_time() {
        assert_eq!(parse_moment("2026-08-01").map(|t| fmt_ts(&t)).as_deref(), Some("2026-08-01T00:00:00Z"));
        assert_eq!(parse_moment("2026-08-01T10:30:00Z").map(|t| fmt_ts(&t)).as_deref(), Some("2026-08-01T10:30:00Z"));
        assert!(parse_moment("August").is_none());
    }
}
