//! Timestamps with Go's `time.Time` text forms (RFC 3339 and RFC 3339 with nanoseconds).

use std::fmt;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A point in time with a fixed UTC offset, formatted the way Go's `time` package does.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
pub struct Timestamp(OffsetDateTime);

/// A string that is not an RFC 3339 timestamp (the reason is kept short and value-free).
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error("not an RFC 3339 timestamp")]
#[non_exhaustive]
pub struct TimestampError;

impl Timestamp {
    /// The current time in UTC, truncated to whole seconds (sops' `lastmodified` precision).
    pub fn now_utc() -> Self {
        let now = OffsetDateTime::now_utc();
        Self(now.replace_nanosecond(0).unwrap_or(now))
    }

    /// Wraps a `time` value.
    pub fn from_offset_date_time(t: OffsetDateTime) -> Self {
        Self(t)
    }

    /// The wrapped `time` value.
    pub fn as_offset_date_time(&self) -> OffsetDateTime {
        self.0
    }

    /// Builds a timestamp from calendar parts; `None` if any part is out of range.
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        year: i32,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        nanosecond: u32,
        offset_seconds: i32,
    ) -> Option<Self> {
        let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
        let tod = Time::from_hms_nano(hour, minute, second, nanosecond).ok()?;
        let offset = UtcOffset::from_whole_seconds(offset_seconds).ok()?;
        Some(Self(
            PrimitiveDateTime::new(date, tod).assume_offset(offset),
        ))
    }

    /// Parses Go's `time.RFC3339` layout as `time.Parse` accepts it: fractional seconds
    /// optional, `Z` or `±hh:mm` offset.
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimestampError> {
        let b = s.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Result<u32, TimestampError> {
            let part = b.get(r).ok_or(TimestampError)?;
            if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
                return Err(TimestampError);
            }
            part.iter()
                .try_fold(0u32, |acc, d| {
                    acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
                })
                .ok_or(TimestampError)
        };
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
            return Err(TimestampError);
        }
        if b[10] != b'T' && b[10] != b't' {
            return Err(TimestampError);
        }
        let year = num(0..4)? as i32;
        let (month, day) = (num(5..7)? as u8, num(8..10)? as u8);
        let (hour, minute, second) = (num(11..13)? as u8, num(14..16)? as u8, num(17..19)? as u8);
        let mut i = 19;
        let mut nanos = 0u32;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut end = start;
            while end < b.len() && b[end].is_ascii_digit() {
                end += 1;
            }
            if end == start || end - start > 9 {
                return Err(TimestampError);
            }
            nanos = num(start..end)? * 10u32.pow(9 - (end - start) as u32);
            i = end;
        }
        let offset = match b.get(i) {
            Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
            Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
                let secs = (num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60) as i32;
                if *sign == b'-' { -secs } else { secs }
            }
            _ => return Err(TimestampError),
        };
        Self::from_parts(year, month, day, hour, minute, second, nanos, offset)
            .ok_or(TimestampError)
    }

    /// Go `time.RFC3339`: seconds precision, `Z` for a zero offset.
    pub fn to_rfc3339(&self) -> String {
        self.format(false)
    }

    /// Go `time.Time.MarshalText` (`time.RFC3339Nano`): fraction with trailing zeros trimmed.
    pub fn to_rfc3339_nano(&self) -> String {
        self.format(true)
    }

    fn format(&self, nanos: bool) -> String {
        let t = self.0;
        let mut out = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        if nanos && t.nanosecond() != 0 {
            let frac = format!("{:09}", t.nanosecond());
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        let off = t.offset().whole_seconds();
        if off == 0 {
            out.push('Z');
        } else {
            let sign = if off < 0 { '-' } else { '+' };
            let off = off.abs();
            out.push_str(&format!("{sign}{:02}:{:02}", off / 3600, (off % 3600) / 60));
        }
        out
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339_nano())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_go_forms() {
        for (input, secs, nano) in [
            (
                "2026-11-22T20:35:08Z",
                "2026-11-22T20:35:08Z",
                "2026-11-22T20:35:08Z",
            ),
            (
                "2026-11-22T20:35:08.987654Z",
                "2026-11-22T20:35:08Z",
                "2026-11-22T20:35:08.987654Z",
            ),
            (
                "2026-11-22T20:35:08+00:00",
                "2026-11-22T20:35:08Z",
                "2026-11-22T20:35:08Z",
            ),
            (
                "2001-12-14T21:59:43.1-05:00",
                "2001-12-14T21:59:43-05:00",
                "2001-12-14T21:59:43.1-05:00",
            ),
        ] {
            let t = Timestamp::parse_rfc3339(input).expect(input);
            assert_eq!(t.to_rfc3339(), secs);
            assert_eq!(t.to_rfc3339_nano(), nano);
        }
    }

    #[test]
    fn rejects_non_rfc3339() {
        for bad in [
            "",
            "2026-11-22",
            "2026-11-22 20:35:08Z",
            "2026-13-01T00:00:00Z",
            "x",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad}");
        }
    }
}
