//! Dates of partial precision. Archive materials are often dated only to the year or the month
//! (材料形成时间, each part may be unknown): `2019`, `2019-07` and `2019-07-01` are all valid.
//! Ordering follows docs/DOMAIN.md §2: an unknown month or day sorts as the first of its period.

use std::fmt;
use std::str::FromStr;

/// A calendar date whose month and day may be unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PartialDate {
    year: u16,
    month: Option<u8>,
    day: Option<u8>,
}

/// Why a date string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid date {input:?}: {reason} (expected YYYY, YYYY-MM or YYYY-MM-DD)")]
pub struct InvalidDate {
    /// The refused input (cut to 40 characters).
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl PartialDate {
    /// A full date.
    pub fn from_date(d: time::Date) -> Self {
        PartialDate { year: d.year() as u16, month: Some(d.month() as u8), day: Some(d.day()) }
    }

    /// The year.
    pub fn year(&self) -> u16 {
        self.year
    }

    /// The month, if known.
    pub fn month(&self) -> Option<u8> {
        self.month
    }

    /// The day, if known.
    pub fn day(&self) -> Option<u8> {
        self.day
    }

    /// The first day of the period (unknown parts as January / the 1st), used for sorting and range filters.
    pub fn first_day(&self) -> time::Date {
        let month = time::Month::try_from(self.month.unwrap_or(1)).unwrap_or(time::Month::January);
        time::Date::from_calendar_date(i32::from(self.year), month, self.day.unwrap_or(1)).unwrap_or(time::Date::MIN)
    }

    /// The last day of the period, for range filters (`to=2019` includes all of 2019).
    pub fn last_day(&self) -> time::Date {
        let y = i32::from(self.year);
        match (self.month, self.day) {
            (Some(_), Some(_)) => self.first_day(),
            (Some(m), None) => {
                let month = time::Month::try_from(m).unwrap_or(time::Month::December);
                time::Date::from_calendar_date(y, month, month.length(y)).unwrap_or(time::Date::MAX)
            }
            _ => time::Date::from_calendar_date(y, time::Month::December, 31).unwrap_or(time::Date::MAX),
        }
    }

    /// The compact form national exchange files use (DOMAIN §2): `YYYYMMDD`, or `YYYYMM` / `YYYY` when the day
    /// or the month is unknown. Read back through `exchange::catalogue::normalize_date`.
    pub fn compact(&self) -> String {
        let mut out = format!("{:04}", self.year);
        if let Some(m) = self.month {
            out.push_str(&format!("{m:02}"));
            if let Some(d) = self.day {
                out.push_str(&format!("{d:02}"));
            }
        }
        out
    }

    /// A sort key: ordered by date, unknown parts first within their period.
    pub fn sort_key(&self) -> (u16, u8, u8) {
        (self.year, self.month.unwrap_or(0), self.day.unwrap_or(0))
    }
}

/// `months` calendar months after `date`, on the same day of the month or, where the month is shorter, its last
/// day (the 31st of January and one month give the last day of February).
pub fn add_months(date: time::Date, months: u32) -> time::Date {
    let total = date.year() * 12 + date.month() as i32 - 1 + months as i32;
    let year = total.div_euclid(12);
    let month = time::Month::try_from((total.rem_euclid(12) + 1) as u8).unwrap_or(time::Month::December);
    let day = date.day().min(month.length(year));
    time::Date::from_calendar_date(year, month, day).unwrap_or(time::Date::MAX)
}

impl FromStr for PartialDate {
    type Err = InvalidDate;

    fn from_str(s: &str) -> Result<Self, InvalidDate> {
        let bad = |reason| InvalidDate { input: s.chars().take(40).collect(), reason };
        let parts: Vec<&str> = s.trim().split('-').collect();
        if parts.is_empty() || parts.len() > 3 {
            return Err(bad("wrong number of parts"));
        }
        let num = |p: &str, len: usize| -> Option<u16> {
            (p.len() == len && p.bytes().all(|b| b.is_ascii_digit())).then(|| p.parse().ok()).flatten()
        };
        let year = num(parts[0], 4).ok_or_else(|| bad("year must be four digits"))?;
        if !(1800..=2200).contains(&year) {
            return Err(bad("year out of range 1800–2200"));
        }
        let month = match parts.get(1) {
            Some(p) => {
                let m = num(p, 2).ok_or_else(|| bad("month must be two digits"))?;
                if !(1..=12).contains(&m) {
                    return Err(bad("month out of range"));
                }
                Some(m as u8)
            }
            None => None,
        };
        let day = match parts.get(2) {
            Some(p) => {
                let d = num(p, 2).ok_or_else(|| bad("day must be two digits"))?;
                let m = time::Month::try_from(month.unwrap_or(1)).map_err(|_| bad("month out of range"))?;
                if d == 0 || d > u16::from(m.length(i32::from(year))) {
                    return Err(bad("no such day in that month"));
                }
                Some(d as u8)
            }
            None => None,
        };
        Ok(PartialDate { year, month, day })
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
        }
        if let Some(d) = self.day {
            write!(f, "-{d:02}")?;
        }
        Ok(())
    }
}

impl PartialOrd for PartialDate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PartialDate {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

/// In the OpenAPI document (DESIGN §5): a string of one of the three precisions.
impl utoipa::PartialSchema for PartialDate {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A date of partial precision: `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (year 1800–2200; the day must exist \
                 in that month). Unknown parts sort first within their period.",
            ))
            .pattern(Some("^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$"))
            .examples(["2019", "2019-07", "2019-07-01"])
            .into()
    }
}

impl utoipa::ToSchema for PartialDate {}

impl serde::Serialize for PartialDate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PartialDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compact_national_form_keeps_the_precision() {
        for (iso, compact) in
            [("2019-07-01", "20190701"), ("2019-07", "201907"), ("2019", "2019"), ("1950-12-31", "19501231")]
        {
            assert_eq!(iso.parse::<PartialDate>().unwrap().compact(), compact);
        }
    }

    #[test]
    fn parses_all_precisions() {
        for s in ["2019", "2019-07", "2019-07-01", "2000-02-29"] {
            assert_eq!(s.parse::<PartialDate>().unwrap().to_string(), s);
        }
        for s in ["19", "2019-7", "2019-13", "2019-02-30", "1900-02-29", "abcd", "2019-07-01-01", "", "２０１９"] {
            assert!(s.parse::<PartialDate>().is_err(), "{s} should fail");
        }
    }

    #[test]
    fn unknown_parts_sort_first() {
        let mut v: Vec<PartialDate> =
            ["2019-07-01", "2019", "2018-12", "2019-07"].iter().map(|s| s.parse().unwrap()).collect();
        v.sort();
        let s: Vec<String> = v.iter().map(|d| d.to_string()).collect();
        assert_eq!(s, ["2018-12", "2019", "2019-07", "2019-07-01"]);
    }

    #[test]
    fn ranges() {
        let d: PartialDate = "2019-02".parse().unwrap();
        assert_eq!(d.first_day().to_string(), "2019-02-01");
        assert_eq!(d.last_day().to_string(), "2019-02-28");
        let y: PartialDate = "2019".parse().unwrap();
        assert_eq!(y.last_day().to_string(), "2019-12-31");
    }
}
