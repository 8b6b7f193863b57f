//! Watermarks on what is read under a consultation grant (docs/DOMAIN.md §4c): a copy stamped with the reader,
//! the time and the grant, made from the stored bytes as they are served; the stored bytes (and their hash) are
//! never touched. A PDF gets a text overlay on every page (a content stream appended after the page's own,
//! which is wrapped in `q … Q` so its graphics state cannot hide the stamp); a JPEG is wrapped into a one-page
//! PDF as it is (DCTDecode, not re-encoded); a PNG without alpha and not interlaced likewise (its IDAT data is a
//! FlateDecode stream with PNG predictors, so no decoder is needed); plain text gets stamp lines. Anything else
//! cannot carry a stamp and is refused by the caller. Parsing a PDF is done with `lopdf`, its panics caught.

use lopdf::{Dictionary, Document, Object, Stream, dictionary};

/// The stamp's one line: ASCII only (a standard PDF font, WinAnsi), e.g.
/// `dangan GRANT <id> - reader <username> - 2026-12-01T08:00:00Z`.
pub(crate) fn stamp_text(grant: &str, reader: &str, at: i64) -> String {
    let reader: String = reader.chars().map(|c| if c.is_ascii_graphic() { c } else { '?' }).take(64).collect();
    format!("dangan GRANT {grant} - reader {reader} - {}", crate::model::ts_rfc3339(at))
}

/// Why a content could not be stamped.
#[derive(Debug)]
pub(crate) enum Unstampable {
    /// The type carries no stamp (DOCX, office files, PNG with alpha …).
    Type(String),
    /// The file could not be read as its type says (damaged, encrypted PDF).
    Damaged(String),
}

/// A stamped copy: its bytes and type.
pub(crate) struct Stamped {
    pub(crate) bytes: Vec<u8>,
    pub(crate) mime: &'static str,
}

/// Whether content of this type can carry a stamp at all (a PNG may still turn out not to: alpha, interlaced).
pub(crate) fn can_stamp(mime: &str) -> bool {
    matches!(mime, "application/pdf" | "image/jpeg" | "image/png") || mime.starts_with("text/plain")
}

/// Stamps `bytes` of type `mime` with `text`.
pub(crate) fn stamp(bytes: &[u8], mime: &str, text: &str) -> Result<Stamped, Unstampable> {
    let pdf = |r: Result<Vec<u8>, String>| {
        r.map(|bytes| Stamped { bytes, mime: "application/pdf" }).map_err(Unstampable::Damaged)
    };
    match mime {
        "application/pdf" => pdf(guarded(|| stamp_pdf(bytes, text))),
        "image/jpeg" => pdf(guarded(|| jpeg_page(bytes, text))),
        "image/png" => match png_image(bytes) {
            Ok(img) => pdf(guarded(|| image_page(img, text))),
            Err(e) => Err(e),
        },
        m if m.starts_with("text/plain") => {
            let body = String::from_utf8_lossy(bytes);
            let line = format!("[{text}]");
            Ok(Stamped {
                bytes: format!("{line}\n\n{body}\n\n{line}\n").into_bytes(),
                mime: "text/plain; charset=utf-8",
            })
        }
        other => Err(Unstampable::Type(other.to_string())),
    }
}

/// Runs a parser on untrusted bytes: a panic is an error, never the server's end.
fn guarded(f: impl FnOnce() -> Result<Vec<u8>, String>) -> Result<Vec<u8>, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err("the file could not be parsed".into()))
}

/// The PDF string of ASCII text: parentheses and backslashes escaped.
fn pdf_string(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '(' | ')' | '\\' => format!("\\{c}"),
            c if c.is_ascii() && !c.is_ascii_control() => c.to_string(),
            _ => "?".into(),
        })
        .collect()
}

/// The overlay on a page of `width` × `height` points: a line at the foot and at the head, and a larger one
/// across the middle, in grey.
fn overlay(text: &str, width: f64, height: f64) -> Vec<u8> {
    let s = pdf_string(text);
    let size = (width / (text.len().max(1) as f64 * 0.5)).clamp(4.0, 9.0);
    let big = (width * 0.9 / (text.len().max(1) as f64 * 0.5)).clamp(6.0, 18.0);
    format!(
        "q BT /DgWm {size:.1} Tf 0.45 0.45 0.45 rg 1 0 0 1 18 12 Tm ({s}) Tj ET \
         BT /DgWm {size:.1} Tf 0.45 0.45 0.45 rg 1 0 0 1 18 {:.1} Tm ({s}) Tj ET \
         BT /DgWm {big:.1} Tf 0.75 0.3 0.3 rg 1 0 0 1 {:.1} {:.1} Tm ({s}) Tj ET Q\n",
        height - 12.0 - size,
        width * 0.05,
        height / 2.0,
    )
    .into_bytes()
}

fn font() -> Dictionary {
    dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    }
}

fn number(o: &Object) -> Option<f64> {
    match o {
        Object::Integer(i) => Some(*i as f64),
        Object::Real(r) => Some(f64::from(*r)),
        _ => None,
    }
}

/// A key of a page, or of the nearest ancestor that has it (Resources, MediaBox are inheritable).
fn inherited(doc: &Document, page: lopdf::ObjectId, key: &[u8]) -> Option<Object> {
    let mut id = page;
    for _ in 0..64 {
        let dict = doc.get_dictionary(id).ok()?;
        if let Ok(v) = dict.get(key) {
            return Some(v.clone());
        }
        id = dict.get(b"Parent").and_then(Object::as_reference).ok()?;
    }
    None
}

fn stamp_pdf(bytes: &[u8], text: &str) -> Result<Vec<u8>, String> {
    let mut doc = Document::load_mem(bytes).map_err(|e| format!("not a readable PDF: {e}"))?;
    if doc.is_encrypted() {
        return Err("an encrypted PDF cannot be stamped".into());
    }
    let pages: Vec<lopdf::ObjectId> = doc.page_iter().collect();
    if pages.is_empty() {
        return Err("the PDF has no pages".into());
    }
    let font_id = doc.add_object(font());
    let open = doc.add_object(Stream::new(Dictionary::new(), b"q\n".to_vec()));
    for page in pages {
        let (width, height) = match inherited(&doc, page, b"MediaBox") {
            Some(Object::Array(a)) if a.len() == 4 => {
                let n: Vec<f64> = a.iter().map(|o| number(o).unwrap_or(0.0)).collect();
                ((n[2] - n[0]).abs().max(72.0), (n[3] - n[1]).abs().max(72.0))
            }
            _ => (612.0, 792.0),
        };
        // The page's resources, made its own (a copy of the inherited ones, or of a shared dictionary), with the
        // stamp's font added.
        let mut resources = match inherited(&doc, page, b"Resources") {
            Some(Object::Reference(id)) => doc.get_dictionary(id).cloned().unwrap_or_default(),
            Some(Object::Dictionary(d)) => d,
            _ => Dictionary::new(),
        };
        let mut fonts = match resources.get(b"Font") {
            Ok(Object::Reference(id)) => doc.get_dictionary(*id).cloned().unwrap_or_default(),
            Ok(Object::Dictionary(d)) => d.clone(),
            _ => Dictionary::new(),
        };
        fonts.set("DgWm", Object::Reference(font_id));
        resources.set("Font", Object::Dictionary(fonts));
        let close = doc.add_object(Stream::new(Dictionary::new(), overlay_after_q(text, width, height)));
        let page_dict = doc.get_dictionary_mut(page).map_err(|e| e.to_string())?;
        let mut contents = match page_dict.get(b"Contents") {
            Ok(Object::Reference(id)) => vec![Object::Reference(*id)],
            Ok(Object::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        contents.insert(0, Object::Reference(open));
        contents.push(Object::Reference(close));
        page_dict.set("Contents", Object::Array(contents));
        page_dict.set("Resources", Object::Dictionary(resources));
    }
    let mut out = Vec::new();
    doc.save_to(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Closes the page's own graphics state, then the overlay.
fn overlay_after_q(text: &str, width: f64, height: f64) -> Vec<u8> {
    let mut v = b"\nQ\n".to_vec();
    v.extend(overlay(text, width, height));
    v
}

/// An image to put on a page.
struct Image {
    width: u32,
    height: u32,
    dict: Dictionary,
    data: Vec<u8>,
}

/// A JPEG's dimensions and components from its SOF marker.
fn jpeg_image(bytes: &[u8]) -> Result<Image, String> {
    let bad = || "not a readable JPEG".to_string();
    if bytes.get(..2) != Some(&[0xFF, 0xD8]) {
        return Err(bad());
    }
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return Err(bad());
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        let is_sof = (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker);
        if is_sof {
            let s = bytes.get(i + 4..i + 10).ok_or_else(bad)?;
            let height = u32::from(u16::from_be_bytes([s[1], s[2]]));
            let width = u32::from(u16::from_be_bytes([s[3], s[4]]));
            let space = match s[5] {
                1 => "DeviceGray",
                3 => "DeviceRGB",
                4 => "DeviceCMYK",
                _ => return Err(bad()),
            };
            if width == 0 || height == 0 {
                return Err(bad());
            }
            let mut dict = dictionary! {
                "Type" => "XObject", "Subtype" => "Image", "Width" => width as i64, "Height" => height as i64,
                "ColorSpace" => space, "BitsPerComponent" => 8, "Filter" => "DCTDecode",
            };
            if s[5] == 4 {
                // Adobe's CMYK JPEGs are stored inverted.
                dict.set(
                    "Decode",
                    vec![1.into(), 0.into(), 1.into(), 0.into(), 1.into(), 0.into(), 1.into(), 0.into()],
                );
            }
            return Ok(Image { width, height, dict, data: bytes.to_vec() });
        }
        i += 2 + len;
    }
    Err(bad())
}

fn jpeg_page(bytes: &[u8], text: &str) -> Result<Vec<u8>, String> {
    image_page(jpeg_image(bytes)?, text)
}

/// A PNG as a PDF image without decoding it: non-interlaced, no alpha channel (grey, RGB or palette).
fn png_image(bytes: &[u8]) -> Result<Image, Unstampable> {
    let bad = |m: &str| Unstampable::Damaged(format!("not a readable PNG: {m}"));
    if bytes.get(..8) != Some(b"\x89PNG\r\n\x1a\n") {
        return Err(bad("no signature"));
    }
    let mut i = 8;
    let (mut width, mut height, mut depth, mut color) = (0u32, 0u32, 0u8, 0u8);
    let mut palette = None;
    let mut data = Vec::new();
    while i + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap_or_default()) as usize;
        let kind = &bytes[i + 4..i + 8];
        let body = bytes.get(i + 8..i + 8 + len).ok_or_else(|| bad("truncated"))?;
        match kind {
            b"IHDR" if len >= 13 => {
                width = u32::from_be_bytes(body[0..4].try_into().unwrap_or_default());
                height = u32::from_be_bytes(body[4..8].try_into().unwrap_or_default());
                depth = body[8];
                color = body[9];
                if body[12] != 0 {
                    return Err(Unstampable::Type("image/png (interlaced)".into()));
                }
            }
            b"PLTE" => palette = Some(body.to_vec()),
            b"IDAT" => data.extend_from_slice(body),
            b"IEND" => break,
            _ => {}
        }
        i += 12 + len;
    }
    if width == 0 || height == 0 || data.is_empty() {
        return Err(bad("no image data"));
    }
    let (space, colors): (Object, i64) = match (color, &palette) {
        (0, _) => ("DeviceGray".into(), 1),
        (2, _) => ("DeviceRGB".into(), 3),
        (3, Some(p)) => (
            Object::Array(vec![
                "Indexed".into(),
                "DeviceRGB".into(),
                ((p.len() / 3).max(1) as i64 - 1).into(),
                Object::String(p.clone(), lopdf::StringFormat::Hexadecimal),
            ]),
            1,
        ),
        _ => return Err(Unstampable::Type("image/png (with an alpha channel)".into())),
    };
    let dict = dictionary! {
        "Type" => "XObject", "Subtype" => "Image", "Width" => width as i64, "Height" => height as i64,
        "ColorSpace" => space, "BitsPerComponent" => depth as i64, "Filter" => "FlateDecode",
        "DecodeParms" => dictionary! {
            "Predictor" => 15, "Colors" => colors, "BitsPerComponent" => depth as i64, "Columns" => width as i64,
        },
    };
    Ok(Image { width, height, dict, data })
}

/// A one-page A4 PDF with the image fitted inside its margins, and the overlay.
fn image_page(img: Image, text: &str) -> Result<Vec<u8>, String> {
    let (pw, ph) = (595.0f64, 842.0f64);
    let scale = ((pw - 72.0) / img.width as f64).min((ph - 108.0) / img.height as f64);
    let (w, h) = (img.width as f64 * scale, img.height as f64 * scale);
    let (x, y) = ((pw - w) / 2.0, (ph - h) / 2.0);
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(font());
    let image_id = doc.add_object(Stream::new(img.dict, img.data).with_compression(false));
    let mut content = format!("q {w:.2} 0 0 {h:.2} {x:.2} {y:.2} cm /Im0 Do Q\n").into_bytes();
    content.extend(overlay(text, pw, ph));
    let content_id = doc.add_object(Stream::new(Dictionary::new(), content));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        "Contents" => content_id,
        "Resources" => dictionary! {
            "Font" => dictionary! { "DgWm" => font_id },
            "XObject" => dictionary! { "Im0" => image_id },
        },
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1 }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PDF whose pages inherit their resources and media box from the page tree, with a text each.
    fn sample_pdf(texts: &[&str]) -> Vec<u8> {
        let mut doc = Document::with_version("1.4");
        let pages_id = doc.new_object_id();
        let font_id = doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Courier" });
        let mut kids = Vec::new();
        for t in texts {
            // The page's own content leaves a transform in force: the stamp must not inherit it.
            let content = format!("0.1 0 0 0.1 0 0 cm BT /F1 120 Tf 1000 4000 Td ({t}) Tj ET");
            let c = doc.add_object(Stream::new(Dictionary::new(), content.into_bytes()));
            kids.push(Object::from(
                doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => c }),
            ));
        }
        let n = kids.len() as i64;
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Kids" => kids, "Count" => n,
                "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
                "Resources" => dictionary! { "Font" => dictionary! { "F1" => font_id } },
            }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        let mut out = Vec::new();
        doc.save_to(&mut out).unwrap();
        out
    }

    fn text_of(pdf: &[u8]) -> String {
        pdf_extract::extract_text_from_mem(pdf).unwrap()
    }

    #[test]
    fn a_stamped_pdf_shows_the_stamp_on_every_page_and_keeps_its_text() {
        let original = sample_pdf(&["PAGEONE", "PAGETWO"]);
        let t = stamp_text("0192-abc", "legal", 1_790_000_000);
        let out = stamp(&original, "application/pdf", &t).unwrap();
        assert_eq!(out.mime, "application/pdf");
        let text = text_of(&out.bytes);
        assert_eq!(text.matches("dangan GRANT 0192-abc").count(), 6, "three stamps on each of two pages: {text}");
        assert!(text.contains("PAGEONE") && text.contains("PAGETWO"), "{text}");
    }

    #[test]
    fn images_become_a_stamped_page_and_what_cannot_carry_a_stamp_is_refused() {
        // A 1×1 greyscale PNG.
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\0\0\0\0\x3a\x7e\x9b\x55\0\0\0\x0aIDAT\x78\x9c\x63\x60\0\0\0\x02\0\x01\xe5\x27\xde\xfc\0\0\0\0IEND\xaeB`\x82";
        let out = stamp(png, "image/png", "dangan GRANT g1 - reader r").unwrap();
        assert!(text_of(&out.bytes).contains("dangan GRANT g1"));
        assert!(matches!(
            stamp(b"PK..", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "x"),
            Err(Unstampable::Type(_))
        ));
        assert!(matches!(stamp(b"%PDF-1.4 garbage", "application/pdf", "x"), Err(Unstampable::Damaged(_))));
        let txt = stamp("正文".as_bytes(), "text/plain", "dangan GRANT g2").unwrap();
        assert!(String::from_utf8(txt.bytes).unwrap().starts_with("[dangan GRANT g2]"));
    }
}
