//! Formatted JTL timestamps, as `jmeter.save.saveservice.timestamp_format`
//! writes them: year-first (`yyyy/MM/dd HH:mm:ss.SSS`, `yyyy-MM-dd
//! HH:mm:ss,SSS`, ISO-8601 `yyyy-MM-dd'T'HH:mm:ss.SSSXXX`...) or day-first
//! (`dd/MM/yyyy HH:mm:ss`) dates, seconds and fractions optional, with an
//! optional zone (`Z`, `+01:00`, `+0100`, `+01`). Without a zone the time
//! is read as UTC: the file does not say which zone it was written in.
//!
//! Fields out of range roll over into the next larger one, as Java's
//! lenient `SimpleDateFormat` (what JMeter's own report generator and the
//! Jenkins performance plugin read these files with) does: month 20 of
//! 2001 is August 2002.

/// Epoch milliseconds of a formatted date, or `None` if `b` is none.
#[cold]
pub(super) fn parse(b: &[u8]) -> Option<i64> {
    let b = b.trim_ascii();
    let mut p = Cursor { b, i: 0 };
    let first = p.digits(1, 4)?;
    let sep = p.one_of(b"-/.")?;
    let middle = p.digits(1, 2)?;
    p.exact(sep)?;
    let last = p.digits(1, 4)?;
    let (year, month, day) = match (first.1, last.1) {
        (4, 1..=2) => (first.0, middle.0, last.0),
        (1..=2, 4) => (last.0, middle.0, first.0),
        _ => return None,
    };
    p.one_of(b" T")?;
    let hour = p.digits(1, 2)?.0;
    p.exact(b':')?;
    let minute = p.digits(2, 2)?.0;
    let second = if p.eat(b':') { p.digits(2, 2)?.0 } else { 0 };
    let mut millis = 0;
    if p.eat(b'.') || p.eat(b',') {
        let (frac, len) = p.digits(1, 9)?;
        // Milliseconds: the first three digits.
        millis = match len {
            1 => frac * 100,
            2 => frac * 10,
            _ => frac / 10i64.pow(len - 3),
        };
    }
    p.eat(b' ');
    let offset_min = p.zone()?;
    if p.i != b.len() {
        return None;
    }
    let months = month - 1;
    let days = days_from_civil(year + months.div_euclid(12), months.rem_euclid(12) + 1) + day - 1;
    let minutes = (days * 24 + hour) * 60 + minute - offset_min;
    Some((minutes * 60 + second) * 1000 + millis)
}

/// Days from 1970-01-01 to the first of `month` (1-12) of `year`
/// (proleptic Gregorian; H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    /// `min..=max` ASCII digits: their value and count.
    fn digits(&mut self, min: u32, max: u32) -> Option<(i64, u32)> {
        let mut n = 0i64;
        let mut len = 0;
        while len < max
            && let Some(d) = self.b.get(self.i).filter(|c| c.is_ascii_digit())
        {
            n = n * 10 + i64::from(d - b'0');
            len += 1;
            self.i += 1;
        }
        (len >= min).then_some((n, len))
    }

    fn one_of(&mut self, set: &[u8]) -> Option<u8> {
        let c = *self.b.get(self.i).filter(|c| set.contains(c))?;
        self.i += 1;
        Some(c)
    }

    fn exact(&mut self, c: u8) -> Option<()> {
        self.eat(c).then_some(())
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.b.get(self.i) == Some(&c);
        self.i += usize::from(hit);
        hit
    }

    /// A zone's offset east of UTC in minutes; 0 when there is none.
    fn zone(&mut self) -> Option<i64> {
        if self.eat(b'Z') || self.i == self.b.len() {
            return Some(0);
        }
        let sign = match self.one_of(b"+-")? {
            b'-' => -1,
            _ => 1,
        };
        let hours = self.digits(2, 2)?.0;
        self.eat(b':');
        let minutes = if self.i < self.b.len() {
            self.digits(2, 2)?.0
        } else {
            0
        };
        (hours <= 18 && minutes < 60).then_some(sign * (hours * 60 + minutes))
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    const T: i64 = 1_700_000_000_123; // 2023-11-14T22:13:20.123Z

    #[test]
    fn jmeter_formats() {
        for s in [
            "2023/11/14 22:13:20.123",
            "2023-11-14 22:13:20.123",
            "2023-11-14 22:13:20,123",
            "2023-11-14T22:13:20.123",
            "2023-11-14T22:13:20.123Z",
            "2023-11-14T22:13:20.123456Z",
            "14/11/2023 22:13:20.123",
            " 2023-11-14 22:13:20.123 ",
        ] {
            assert_eq!(parse(s.as_bytes()), Some(T), "{s}");
        }
        assert_eq!(parse(b"2023/11/14 22:13:20"), Some(T - 123));
        assert_eq!(parse(b"2023-11-14 22:13"), Some(T - 20_123));
    }

    #[test]
    fn iso_8601_zone_offsets() {
        for s in [
            "2023-11-14T23:13:20.123+01:00",
            "2023-11-14T23:13:20.123+0100",
            "2023-11-14T23:13:20.123+01",
            "2023-11-14 23:13:20.123 +0100",
            "2023-11-14T17:43:20.123-04:30",
        ] {
            assert_eq!(parse(s.as_bytes()), Some(T), "{s}");
        }
    }

    #[test]
    fn out_of_range_fields_roll_over_as_in_java() {
        // Month 20 of 2001 is August 2002 (perfplugin's JMeterCsvResults2).
        assert_eq!(
            parse(b"2001/20/20 12:05:05.123"),
            parse(b"2002/08/20 12:05:05.123")
        );
        assert_eq!(
            parse(b"2011-21-21 14:15:25.321"),
            parse(b"2012-09-21 14:15:25.321")
        );
        assert_eq!(parse(b"2024-02-30 00:00:00"), parse(b"2024-03-01 00:00:00"));
        // Leap years and the epoch itself.
        assert_eq!(parse(b"1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse(b"2000-02-29 00:00:00"), Some(951_782_400_000));
    }

    #[test]
    fn not_dates() {
        for s in [
            "",
            "yesterday",
            "2023-11-14",
            "2023-11/14 22:13:20",
            "123-11-14 22:13:20",
            "2023-11-14 22:13:20.",
            "2023-11-14 22:13:20 CET",
            "2023-11-14 22:13:20+25:00",
            "2023-11-14 22:13:20x",
            "-1",
        ] {
            assert_eq!(parse(s.as_bytes()), None, "{s}");
        }
    }
}
