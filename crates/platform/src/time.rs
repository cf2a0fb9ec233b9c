//! Timestamps as the dialects print and read them.

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

/// An RFC 3339 timestamp (fraction optional, `Z` or an offset; years 0001 to 9999 in UTC) as
/// milliseconds since the Unix epoch, or `None` when `s` is not one. Further fraction digits than
/// milliseconds are truncated.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = s.get(range)?;
        digits.bytes().all(|c| c.is_ascii_digit()).then(|| digits.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut rest = &s[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if !(1..=9).contains(&digits) {
            return None;
        }
        let first3 = format!("{:0<3}", &fraction[..digits.min(3)]);
        millis = first3.parse::<i64>().ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" => 0,
        _ => {
            let r = rest.as_bytes();
            if r.len() != 6 || !matches!(r[0], b'+' | b'-') || r[3] != b':' {
                return None;
            }
            let (h, m) = (rest[1..3].parse::<i64>().ok()?, rest[4..6].parse::<i64>().ok()?);
            if !rest[1..3].bytes().chain(rest[4..6].bytes()).all(|c| c.is_ascii_digit()) || h > 23 || m > 59 {
                return None;
            }
            let sign = if r[0] == b'-' { -1 } else { 1 };
            sign * (h * 60 + m)
        }
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    let ms = secs * 1000 + millis;
    // What RFC 3339 can write back: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z.
    (-62_135_596_800_000..=253_402_300_799_999).contains(&ms).then_some(ms)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's days-from-civil).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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

    #[test]
    fn forms_sunshine_and_rfc_3339_allow() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(parse_rfc3339("2020-09-20T10:11:12.345Z"), Some(1_600_596_672_345));
        assert_eq!(parse_rfc3339("2020-09-20T10:11:12Z"), Some(1_600_596_672_000));
        assert_eq!(parse_rfc3339("2020-09-20T12:11:12.3+02:00"), Some(1_600_596_672_300));
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00.123456Z"), Some(951_782_400_123));
        assert_eq!(parse_rfc3339("0001-01-01T00:00:00.000Z"), Some(-62_135_596_800_000));
        for bad in [
            "",
            "yesterday",
            "2020-09-20",
            "2020-09-20 10:11:12Z",
            "2020-09-20T10:11:12",
            "2021-02-29T00:00:00Z",
            "2020-13-01T00:00:00Z",
            "2020-09-20T24:00:00Z",
            "2020-09-20T10:11:12.Z",
            "2020-09-20T10:11:12.345+0200",
            "0000-12-31T23:59:59Z",
            "0001-01-01T00:00:00+01:00",
            "+020-09-20T10:11:12Z",
            "2020-09-20T10:11:12.345Zjunk",
            "２０２０-09-20T10:11:12Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// What Roster writes, it reads back to the same millisecond.
        #[test]
        fn round_trips_what_roster_writes(ms in -62_135_596_800_000i64..=253_402_300_799_999) {
            prop_assert_eq!(parse_rfc3339(&iso8601_millis(ms)), Some(ms));
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = parse_rfc3339(&s);
        }
    }
}
