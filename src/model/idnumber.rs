//! Citizen ID numbers (公民身份号码, GB 11643): structure, check character, birth date and gender, the
//! upgrade of 15-digit legacy numbers, and masking for display. An ID number is personal data: it is never
//! logged and never used as a storage key.

use std::fmt;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// A valid 18-character ID number (upper-case `X`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

/// Why an ID number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidIdNumber {
    /// Not 18 (or legacy 15) characters of digits with an optional final X.
    #[error("公民身份号码应为18位（末位可为X）或15位旧号码")]
    Format,
    /// The area code is not plausible (first digit 1–9 and a known province code).
    #[error("公民身份号码地区码无效")]
    Area,
    /// The embedded birth date is not a real date, or lies in the future or before 1800.
    #[error("公民身份号码中的出生日期无效")]
    BirthDate,
    /// The check character does not match.
    #[error("公民身份号码校验位错误（应为{expected}）")]
    Checksum {
        /// The check character the first 17 digits call for.
        expected: char,
    },
}

/// The check character for the first 17 digits.
pub fn check_char(first17: &[u8]) -> char {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    CHECK[(sum % 11) as usize] as char
}

const PROVINCES: [u8; 34] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63,
    64, 65, 71, 81, 82,
];

impl IdNumber {
    /// Validates an ID number; a 15-digit legacy number is upgraded (19 inserted, check character appended).
    pub fn parse(input: &str) -> Result<Self, InvalidIdNumber> {
        let s = input.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        let full = match b.len() {
            18 if b[..17].iter().all(u8::is_ascii_digit) && (b[17].is_ascii_digit() || b[17] == b'X') => s,
            15 if b.iter().all(u8::is_ascii_digit) => {
                let mut first17 = String::with_capacity(18);
                first17.push_str(&s[..6]);
                first17.push_str("19");
                first17.push_str(&s[6..]);
                let c = check_char(first17.as_bytes());
                first17.push(c);
                first17
            }
            _ => return Err(InvalidIdNumber::Format),
        };
        let b = full.as_bytes();
        let province: u8 = full[..2].parse().map_err(|_| InvalidIdNumber::Area)?;
        if !PROVINCES.contains(&province) {
            return Err(InvalidIdNumber::Area);
        }
        let birth = Self::date_of(b).ok_or(InvalidIdNumber::BirthDate)?;
        if birth.year() < 1800 || birth > super::today() {
            return Err(InvalidIdNumber::BirthDate);
        }
        let expected = check_char(&b[..17]);
        if b[17] as char != expected {
            return Err(InvalidIdNumber::Checksum { expected });
        }
        Ok(IdNumber(full))
    }

    fn date_of(b: &[u8]) -> Option<time::Date> {
        let s = std::str::from_utf8(&b[6..14]).ok()?;
        let y: i32 = s[..4].parse().ok()?;
        let m: u8 = s[4..6].parse().ok()?;
        let d: u8 = s[6..8].parse().ok()?;
        time::Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()
    }

    /// The birth date the number encodes.
    pub fn birth_date(&self) -> time::Date {
        Self::date_of(self.0.as_bytes()).unwrap_or(time::Date::MIN)
    }

    /// `true` for male (odd sequence digit), `false` for female.
    pub fn is_male(&self) -> bool {
        (self.0.as_bytes()[16] - b'0') % 2 == 1
    }

    /// The number itself.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Masked for display to those who may not see it whole: `110105********002X`.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }
}

impl fmt::Debug for IdNumber {
    // Never print the whole number, not even in debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_examples() {
        let a = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(a.birth_date().to_string(), "1949-12-31");
        assert!(!a.is_male());
        assert_eq!(a.masked(), "110105********002X");
        let b = IdNumber::parse("440524188001010014").unwrap();
        assert_eq!(b.birth_date().to_string(), "1880-01-01");
        assert!(b.is_male());
        assert!(IdNumber::parse("11010519491231002x").is_ok(), "lower-case x accepted");
    }

    #[test]
    fn invalid_examples() {
        assert_eq!(IdNumber::parse("110105194912310021"), Err(InvalidIdNumber::Checksum { expected: 'X' }));
        assert_eq!(IdNumber::parse("1101051949123100"), Err(InvalidIdNumber::Format));
        assert_eq!(IdNumber::parse("11010519491331002X").unwrap_err(), InvalidIdNumber::BirthDate);
        assert_eq!(IdNumber::parse("99010519491231002X").unwrap_err(), InvalidIdNumber::Area);
        assert_eq!(IdNumber::parse("abc").unwrap_err(), InvalidIdNumber::Format);
    }

    #[test]
    fn legacy_15_digit_upgrades() {
        // 110105491231002 → 11010519491231002X
        let id = IdNumber::parse("110105491231002").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
    }

    #[test]
    fn debug_never_shows_the_whole_number() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert!(!format!("{id:?}").contains("19491231"));
    }
}
