//! nginx's time values ("Syntax" in nginx's configuration guide; `ngx_parse_time`):
//! numbers with the units `ms`, `s`, `m`, `h`, `d`, `w`, `M` (30 days) and `y` (365
//! days), several in one value from the largest unit down (`1h 30m`, `1m30s`), each unit
//! at most once; a number without a unit is seconds. A value in milliseconds (a
//! timeout) takes no `M` or `y`; one in seconds (`valid=`) takes no `ms`.

use std::time::Duration;

/// Whether a value is read in milliseconds (`proxy_connect_timeout`) or seconds (`valid=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Milliseconds,
    Seconds,
}

/// `text` as a duration, or `None` where nginx says "invalid value".
pub fn parse(text: &str, unit: Unit) -> Option<Duration> {
    // The steps of nginx's parser, largest unit first: each unit must come after the last.
    const YEAR: u8 = 1;
    const MONTH: u8 = 2;
    const WEEK: u8 = 3;
    const DAY: u8 = 4;
    const HOUR: u8 = 5;
    const MIN: u8 = 6;
    const SEC: u8 = 7;
    const MSEC: u8 = 8;
    const LAST: u8 = 9;
    let seconds = unit == Unit::Seconds;
    let mut step: u8 = if seconds { 0 } else { MONTH };
    let (mut total, mut value, mut valid) = (0u64, 0u64, false);
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let c = bytes[at];
        at += 1;
        if c.is_ascii_digit() {
            value = value.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
            valid = true;
            continue;
        }
        let (next, scale_secs, millis) = match c {
            b'y' if step == 0 => (YEAR, 365 * 86_400, false),
            b'M' if step < MONTH => (MONTH, 30 * 86_400, false),
            b'w' if step < WEEK => (WEEK, 7 * 86_400, false),
            b'd' if step < DAY => (DAY, 86_400, false),
            b'h' if step < HOUR => (HOUR, 3_600, false),
            b'm' if bytes.get(at) == Some(&b's') => {
                if seconds || step >= MSEC {
                    return None;
                }
                at += 1;
                (MSEC, 1, true)
            }
            b'm' if step < MIN => (MIN, 60, false),
            b's' if step < SEC => (SEC, 1, false),
            b' ' if step < SEC => (LAST, 1, false),
            _ => return None,
        };
        step = next;
        let scale = if millis || seconds {
            scale_secs
        } else {
            scale_secs * 1000
        };
        total = total.checked_add(value.checked_mul(scale)?)?;
        value = 0;
        while bytes.get(at) == Some(&b' ') {
            at += 1;
        }
    }
    if !valid {
        return None;
    }
    let rest = if seconds { value } else { value.checked_mul(1000)? };
    let total = total.checked_add(rest)?;
    // nginx keeps a value in a signed integer.
    if total > i64::MAX as u64 {
        return None;
    }
    Some(if seconds {
        Duration::from_secs(total)
    } else {
        Duration::from_millis(total)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> Option<u128> {
        parse(text, Unit::Milliseconds).map(|d| d.as_millis())
    }

    fn secs(text: &str) -> Option<u64> {
        parse(text, Unit::Seconds).map(|d| d.as_secs())
    }

    #[test]
    fn values_follow_nginx_units() {
        assert_eq!(ms("1s"), Some(1000));
        assert_eq!(ms("1"), Some(1000), "no unit: seconds");
        assert_eq!(ms("500ms"), Some(500));
        assert_eq!(ms("1m30s"), Some(90_000));
        assert_eq!(ms("1h 30m"), Some(5_400_000));
        assert_eq!(ms("1d"), Some(86_400_000));
        assert_eq!(secs("10s"), Some(10));
        assert_eq!(secs("1y"), Some(365 * 86_400));
        assert_eq!(secs("2M"), Some(60 * 86_400));
        assert_eq!(secs("0s"), Some(0));
    }

    #[test]
    fn what_nginx_refuses_is_refused() {
        for bad in [
            "",
            "s",
            "1x",
            "30m1h",
            "1s1s",
            "-1s",
            "1.5s",
            "1M",
            "1y",
            "${FRONT_CONNECT_TIMEOUT}s",
        ] {
            assert_eq!(ms(bad), None, "{bad:?} as milliseconds");
        }
        for bad in ["500ms", "1S", "1s2m"] {
            assert_eq!(secs(bad), None, "{bad:?} as seconds");
        }
    }
}
