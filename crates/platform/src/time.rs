//! Timestamps as the dialects print them.

/// Milliseconds since the Unix epoch as ISO 8601 / RFC 3339 in UTC with seconds precision and an
/// explicit offset: `2020-09-20T00:00:00+00:00` (Ada's shape).
pub fn iso8601_offset(ms: i64) -> String {
    let (date, secs) = civil(ms);
    format!("{date}T{:02}:{:02}:{:02}+00:00", secs / 3600, secs / 60 % 60, secs % 60)
}

/// The same with milliseconds and `Z`: `2020-09-20T00:00:00.000Z` (Sunshine's shape).
pub fn iso8601_millis(ms: i64) -> String {
    let (date, secs) = civil(ms);
    format!("{date}T{:02}:{:02}:{:02}.{:03}Z", secs / 3600, secs / 60 % 60, secs % 60, ms.rem_euclid(1000))
}

/// `YYYY-MM-DD` and the seconds into that day (proleptic Gregorian; Howard Hinnant's
/// days-to-civil algorithm).
fn civil(ms: i64) -> (String, i64) {
    let secs = ms.div_euclid(1000);
    let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (format!("{year:04}-{month:02}-{day:02}"), day_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(iso8601_offset(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso8601_offset(1_600_560_000_000), "2020-09-20T00:00:00+00:00");
        assert_eq!(iso8601_millis(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(iso8601_offset(1_795_491_785_000), "2026-11-24T03:43:05+00:00");
        assert_eq!(iso8601_offset(-1000), "1969-12-31T23:59:59+00:00");
    }
}
