//! One PDF assembled from a material's page images (lopdf), one PDF page per image, in order, the image filling
//! the page. A JPEG is embedded as it is (a DCTDecode stream holding the file's exact bytes), so
//! [`embedded_jpeg`] gives the original back byte for byte and the material need not keep it twice. PNG and TIFF
//! are decoded and embedded losslessly (FlateDecode): 1-bit grey when the page is bilevel, 8-bit grey when every
//! pixel is grey, else 8-bit RGB (16-bit samples are reduced to 8, transparency is laid on white).
//!
//! The page size follows the image's resolution (72 × pixels / dpi points; [`DEFAULT_DPI`] when the file does
//! not say). Assembly is deterministic: the same pages give the same bytes.

use super::PageError;
use super::image::{self, Flat, PageFormat, PageInfo};
use flate2::Compression;
use flate2::write::ZlibEncoder;
use lopdf::{Dictionary, Document, Object, Stream, dictionary};
use std::io::Write;

/// The resolution assumed for a page whose file does not record one.
pub const DEFAULT_DPI: u32 = 300;

/// Assembles one PDF from page images, in order: one page per image. `pages` pairs each image's bytes with what
/// [`image::inspect`] found. An error when there are no pages, when an image is damaged or not what its
/// [`PageInfo`] says, or when a JPEG cannot be embedded as it is (12-bit, lossless or arithmetic-coded).
pub fn assemble(pages: &[(&[u8], &PageInfo)]) -> Result<Vec<u8>, PageError> {
    if pages.is_empty() {
        return Err(PageError::Pdf("a PDF needs at least one page".into()));
    }
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut kids = Vec::with_capacity(pages.len());
    for (n, (bytes, info)) in pages.iter().enumerate() {
        let numbered = |e: PageError| match e {
            PageError::Pdf(m) => PageError::Pdf(format!("page {}: {m}", n + 1)),
            e => PageError::Pdf(format!("page {}: {e}", n + 1)),
        };
        if image::sniff(bytes) != Some(info.format) {
            return Err(numbered(PageError::Pdf(format!(
                "the image is not the {} its record says",
                info.format.as_str()
            ))));
        }
        let (xobject, width, height, rotate) = match info.format {
            PageFormat::Jpeg => jpeg_xobject(bytes).map_err(numbered)?,
            PageFormat::Png | PageFormat::Tiff => lossless_xobject(bytes, info.format).map_err(numbered)?,
        };
        let image_id = doc.add_object(xobject);
        let (dpi_x, dpi_y) = info.dpi.unwrap_or((DEFAULT_DPI, DEFAULT_DPI));
        let points = |px: u32, dpi: u32| (f64::from(px) * 72.0 / f64::from(dpi.max(1)) * 100.0).round() / 100.0;
        let (w, h) = (points(width, dpi_x), points(height, dpi_y));
        let content = format!("q {w} 0 0 {h} 0 0 cm /Im0 Do Q");
        let content_id = doc.add_object(Stream::new(Dictionary::new(), content.into_bytes()));
        let mut page = dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(w as f32), Object::Real(h as f32)],
            "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => image_id } },
            "Contents" => content_id,
        };
        if rotate != 0 {
            page.set("Rotate", i64::from(rotate));
        }
        kids.push(Object::Reference(doc.add_object(page)));
    }
    let count = kids.len() as i64;
    doc.objects
        .insert(pages_id, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }));
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).map_err(|e| PageError::Pdf(format!("cannot write the PDF: {e}")))?;
    Ok(out)
}

/// A JPEG as an image XObject holding its exact bytes: the stream, its pixel size and the page rotation its EXIF
/// orientation asks for (0, 90, 180 or 270; mirrored orientations are not followed).
fn jpeg_xobject(bytes: &[u8]) -> Result<(Stream, u32, u32, u16), PageError> {
    let meta = image::jpeg_meta(bytes)?;
    if !matches!(meta.sof, 0xC0..=0xC2) {
        return Err(PageError::Unsupported(format!(
            "a JPEG coded with SOF{} (lossless or arithmetic coding) cannot be embedded in a PDF as it is",
            meta.sof - 0xC0
        )));
    }
    if meta.precision != 8 {
        return Err(PageError::Unsupported(format!("a {}-bit JPEG cannot be embedded in a PDF", meta.precision)));
    }
    if meta.width == 0 || meta.height == 0 {
        return Err(PageError::Unsupported("a JPEG whose height is set later (DNL) cannot be embedded".into()));
    }
    let mut dict = dictionary! {
        "Type" => "XObject",
        "Subtype" => "Image",
        "Width" => i64::from(meta.width),
        "Height" => i64::from(meta.height),
        "BitsPerComponent" => 8,
        "Filter" => "DCTDecode",
    };
    match meta.components {
        1 => dict.set("ColorSpace", "DeviceGray"),
        3 => dict.set("ColorSpace", "DeviceRGB"),
        4 => {
            dict.set("ColorSpace", "DeviceCMYK");
            // Adobe's applications write CMYK JPEGs inverted, and mark them with an APP14 "Adobe" segment.
            if meta.adobe {
                dict.set("Decode", [1, 0, 1, 0, 1, 0, 1, 0].iter().map(|&v| Object::Integer(v)).collect::<Vec<_>>());
            }
        }
        n => return Err(PageError::Unsupported(format!("a JPEG with {n} colour components"))),
    }
    let rotate = match meta.orientation {
        Some(3) => 180,
        Some(6) => 90,
        Some(8) => 270,
        _ => 0,
    };
    let stream = Stream::new(dict, bytes.to_vec()).with_compression(false);
    Ok((stream, u32::from(meta.width), u32::from(meta.height), rotate))
}

/// A PNG or TIFF decoded and embedded losslessly (see the module documentation).
fn lossless_xobject(bytes: &[u8], format: PageFormat) -> Result<(Stream, u32, u32, u16), PageError> {
    let decoded = image::decode(bytes, format)?;
    let (width, height) = (decoded.width(), decoded.height());
    let flat = image::flatten(&decoded);
    drop(decoded);
    let (colour_space, bits, samples) = match flat {
        Flat::Grey(grey) if image::is_bilevel(&grey) => {
            // 1 bit a pixel, each row padded to a whole byte; 1 is white in DeviceGray.
            let row = (width as usize).div_ceil(8);
            let mut packed = vec![0u8; row * height as usize];
            for (y, line) in grey.as_raw().chunks_exact(width as usize).enumerate() {
                for (x, &v) in line.iter().enumerate() {
                    if v != 0 {
                        packed[y * row + x / 8] |= 0x80 >> (x % 8);
                    }
                }
            }
            ("DeviceGray", 1, packed)
        }
        Flat::Grey(grey) => ("DeviceGray", 8, grey.into_raw()),
        Flat::Rgb(rgb) => ("DeviceRGB", 8, rgb.into_raw()),
    };
    let mut encoder = ZlibEncoder::new(Vec::with_capacity(samples.len() / 4), Compression::default());
    encoder.write_all(&samples).map_err(|e| PageError::Pdf(e.to_string()))?;
    let compressed = encoder.finish().map_err(|e| PageError::Pdf(e.to_string()))?;
    let dict = dictionary! {
        "Type" => "XObject",
        "Subtype" => "Image",
        "Width" => i64::from(width),
        "Height" => i64::from(height),
        "ColorSpace" => colour_space,
        "BitsPerComponent" => bits,
        "Filter" => "FlateDecode",
    };
    Ok((Stream::new(dict, compressed).with_compression(false), width, height, 0))
}

/// The number of pages of a PDF.
pub fn page_count(pdf: &[u8]) -> Result<u32, PageError> {
    let doc = Document::load_mem(pdf).map_err(|e| PageError::Pdf(format!("cannot read the PDF: {e}")))?;
    Ok(doc.get_pages().len() as u32)
}

/// The exact bytes of the JPEG shown on page `page` (1-based) of a PDF, when that page's image is a JPEG
/// embedded as it is (a DCTDecode stream and no other filter); `None` for any other page, a page past the
/// last, or a PDF that cannot be read.
pub fn embedded_jpeg(pdf: &[u8], page: u32) -> Option<Vec<u8>> {
    let doc = Document::load_mem(pdf).ok()?;
    let page_id = *doc.get_pages().get(&page)?;
    let page = doc.get_dictionary(page_id).ok()?;
    let resources = page.get_deref(b"Resources", &doc).ok()?.as_dict().ok()?;
    let xobjects = resources.get_deref(b"XObject", &doc).ok()?.as_dict().ok()?;
    for (_, object) in xobjects.iter() {
        let Ok((_, object)) = doc.dereference(object) else { continue };
        let Ok(stream) = object.as_stream() else { continue };
        if stream.dict.get(b"Subtype").and_then(Object::as_name).ok() != Some(b"Image".as_slice()) {
            continue;
        }
        let dct = stream.filters().is_ok_and(|f| f == [b"DCTDecode".as_slice()]);
        return (dct && image::sniff(&stream.content) == Some(PageFormat::Jpeg)).then(|| stream.content.clone());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digitise::image::inspect;
    use crate::digitise::image::tests::{jpeg, png_rgb, text_page, tiff_grey};
    use ::image::{GrayImage, Luma, RgbImage};
    use std::process::{Command, Stdio};

    fn media_box(doc: &Document, page: u32) -> Vec<f32> {
        let id = doc.get_pages()[&page];
        let dict = doc.get_dictionary(id).unwrap();
        dict.get(b"MediaBox").unwrap().as_array().unwrap().iter().map(|o| o.as_float().unwrap()).collect()
    }

    fn three_pages() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let jpeg = jpeg(&text_page(), Some(150));
        let colour = RgbImage::from_fn(600, 800, |x, y| ::image::Rgb([(x % 256) as u8, (y % 256) as u8, 200]));
        let png = png_rgb(&colour, Some(7874)); // 200 dpi
        let bw = GrayImage::from_fn(333, 500, |x, y| Luma([if (x / 10 + y / 10) % 2 == 0 { 0 } else { 255 }]));
        let tiff = tiff_grey(&bw, None);
        (jpeg, png, tiff)
    }

    #[test]
    fn three_pages_assemble_and_read_back() {
        let (jpeg, png, tiff) = three_pages();
        let infos = [inspect(&jpeg).unwrap(), inspect(&png).unwrap(), inspect(&tiff).unwrap()];
        let pdf = assemble(&[(&jpeg, &infos[0]), (&png, &infos[1]), (&tiff, &infos[2])]).unwrap();
        assert_eq!(page_count(&pdf), Ok(3));
        let doc = Document::load_mem(&pdf).unwrap();
        assert_eq!(doc.get_pages().len(), 3);
        // 1240 × 1754 px at 150 dpi; 600 × 800 at 200; 333 × 500 with no dpi (300 assumed).
        assert_eq!(media_box(&doc, 1), [0.0, 0.0, 595.2, 841.92]);
        assert_eq!(media_box(&doc, 2), [0.0, 0.0, 216.0, 288.0]);
        assert_eq!(media_box(&doc, 3), [0.0, 0.0, 79.92, 120.0]);
        assert_eq!(embedded_jpeg(&pdf, 1).as_deref(), Some(jpeg.as_slice()));
        assert_eq!(embedded_jpeg(&pdf, 2), None);
        assert_eq!(embedded_jpeg(&pdf, 3), None);
        assert_eq!(embedded_jpeg(&pdf, 4), None);
        assert_eq!(embedded_jpeg(b"not a pdf", 1), None);
        // The lossless pages hold their pixels exactly.
        let image = |page: u32| {
            let id = doc.get_pages()[&page];
            let res = doc.get_dictionary(id).unwrap().get(b"Resources").unwrap().as_dict().unwrap();
            let im = res.get(b"XObject").unwrap().as_dict().unwrap().get(b"Im0").unwrap().as_reference().unwrap();
            doc.get_object(im).unwrap().as_stream().unwrap().clone()
        };
        let png_page = image(2);
        assert_eq!(png_page.dict.get(b"ColorSpace").unwrap().as_name().unwrap(), b"DeviceRGB");
        let colour = RgbImage::from_fn(600, 800, |x, y| ::image::Rgb([(x % 256) as u8, (y % 256) as u8, 200]));
        assert_eq!(png_page.decompressed_content().unwrap(), colour.into_raw());
        let tiff_page = image(3);
        assert_eq!(tiff_page.dict.get(b"BitsPerComponent").unwrap().as_i64().unwrap(), 1);
        assert_eq!(tiff_page.decompressed_content().unwrap().len(), 42 * 500);
        // Deterministic.
        assert_eq!(assemble(&[(&jpeg, &infos[0]), (&png, &infos[1]), (&tiff, &infos[2])]).unwrap(), pdf);
    }

    #[test]
    fn poppler_renders_the_assembled_pdf() {
        let (jpeg, png, tiff) = three_pages();
        let infos = [inspect(&jpeg).unwrap(), inspect(&png).unwrap(), inspect(&tiff).unwrap()];
        let pdf = assemble(&[(&jpeg, &infos[0]), (&png, &infos[1]), (&tiff, &infos[2])]).unwrap();
        if Command::new("pdftoppm").arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
            eprintln!("pdftoppm (poppler-utils) is not installed: the rendering check is skipped");
            return;
        }
        for page in ["1", "2", "3"] {
            let mut child = Command::new("pdftoppm")
                .args(["-f", page, "-l", page, "-r", "36", "-png", "-"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            let input = pdf.clone();
            let feed = std::thread::spawn(move || stdin.write_all(&input));
            let out = child.wait_with_output().unwrap();
            feed.join().unwrap().unwrap();
            assert!(out.status.success(), "page {page}: {}", String::from_utf8_lossy(&out.stderr));
            assert!(out.stderr.is_empty(), "page {page}: {}", String::from_utf8_lossy(&out.stderr));
            let rendered = inspect(&out.stdout).unwrap();
            assert_eq!(rendered.format, PageFormat::Png);
            if page == "1" {
                // 595.2 × 841.92 pt at 36 dpi.
                assert_eq!((rendered.width, rendered.height), (298, 421));
                assert!(rendered.ink > 0.05, "the text shows: {}", rendered.ink);
            }
        }
    }

    #[test]
    fn refusals() {
        assert!(matches!(assemble(&[]), Err(PageError::Pdf(_))));
        let (jpeg, png, _) = three_pages();
        let png_info = inspect(&png).unwrap();
        let err = assemble(&[(&jpeg, &png_info)]).unwrap_err();
        assert!(err.to_string().contains("page 1") && err.to_string().contains("png"), "{err}");
        let jpeg_info = inspect(&jpeg).unwrap();
        // A lossless JPEG (SOF3) is refused with a reason.
        let mut lossless = jpeg.clone();
        let sof = lossless.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        lossless[sof + 1] = 0xC3;
        let err = assemble(&[(&jpeg, &jpeg_info), (&lossless, &jpeg_info)]).unwrap_err();
        assert!(err.to_string().contains("page 2") && err.to_string().contains("SOF3"), "{err}");
        assert!(page_count(b"%PDF-1.4 broken").is_err());
    }

    #[test]
    fn an_exif_rotated_jpeg_turns_its_page() {
        let bytes = jpeg(&GrayImage::from_pixel(30, 20, Luma([200])), Some(300));
        let mut tiff = b"II*\0\x08\0\0\0\x01\0".to_vec();
        tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]);
        let mut rotated = bytes[..2].to_vec();
        rotated.extend_from_slice(&[0xFF, 0xE1]);
        rotated.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
        rotated.extend_from_slice(b"Exif\0\0");
        rotated.extend(tiff);
        rotated.extend_from_slice(&bytes[2..]);
        let info = inspect(&rotated).unwrap();
        let pdf = assemble(&[(&rotated, &info)]).unwrap();
        let doc = Document::load_mem(&pdf).unwrap();
        let page = doc.get_dictionary(doc.get_pages()[&1]).unwrap();
        assert_eq!(page.get(b"Rotate").unwrap().as_i64().unwrap(), 90);
        assert_eq!(embedded_jpeg(&pdf, 1), Some(rotated));
    }
}
