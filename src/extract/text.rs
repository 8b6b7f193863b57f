//! Plain text and Markdown: decoded to a string, nothing else (Markdown passes through as text).

/// Decodes text bytes: UTF-8 (a byte order mark is dropped), or UTF-16 when it starts with a byte order mark.
/// Invalid sequences become U+FFFD rather than an error: a half-damaged text file is still worth indexing.
pub(super) fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(b"\xef\xbb\xbf") {
        String::from_utf8_lossy(rest).into_owned()
    } else if let Some(rest) = bytes.strip_prefix(b"\xff\xfe") {
        decode_utf16(rest, u16::from_le_bytes)
    } else if let Some(rest) = bytes.strip_prefix(b"\xfe\xff") {
        decode_utf16(rest, u16::from_be_bytes)
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

/// Decodes UTF-16 code units (a dangling odd byte is dropped, unpaired surrogates become U+FFFD).
fn decode_utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()
}

#[cfg(test)]
mod tests {
    use super::decode;

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        let mut bytes = if big_endian { vec![0xfe, 0xff] } else { vec![0xff, 0xfe] };
        for unit in text.encode_utf16() {
            bytes.extend(if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
        }
        bytes
    }

    #[test]
    fn decodes_utf8_with_and_without_bom() {
        assert_eq!(decode("干部档案".as_bytes()), "干部档案");
        assert_eq!(decode(b"\xef\xbb\xbfabc"), "abc");
        assert_eq!(decode(b"ab\xffcd"), "ab\u{fffd}cd");
        assert_eq!(decode(b""), "");
    }

    #[test]
    fn decodes_utf16_with_bom() {
        assert_eq!(decode(&utf16("任免审批表 𠀀", false)), "任免审批表 𠀀");
        assert_eq!(decode(&utf16("任免审批表 𠀀", true)), "任免审批表 𠀀");
        let mut odd = utf16("档", false);
        odd.push(0x41);
        assert_eq!(decode(&odd), "档");
    }
}
