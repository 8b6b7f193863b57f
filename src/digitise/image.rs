//! What a page image is: [`inspect`] reads its format (from the bytes, never the name), pixel size, resolution
//! (from the file's own metadata: JFIF and EXIF in a JPEG, `pHYs` in a PNG, the resolution tags of a TIFF), its
//! colour mode and the share of it covered by ink (a near-blank page reads close to 0).
//!
//! Decoding runs under [`image::Limits`] ([`MAX_SIDE`] pixels a side, [`MAX_ALLOC`] bytes): a file that claims
//! to be 100000 pixels wide is refused from its header, before anything is allocated.

use super::PageError;
use ::image::{DynamicImage, GrayImage, ImageError, ImageFormat, ImageReader, Limits, RgbImage};
use std::io::Cursor;

/// Largest width and height of a page image, in pixels (an A0 sheet at 600 dpi is about 20000 × 28000; a
/// page of a dossier at 600 dpi is 5000 × 7000).
pub const MAX_SIDE: u32 = 20_000;

/// Most memory one page image may take while it is decoded, in bytes.
pub const MAX_ALLOC: u64 = 512 * 1024 * 1024;

/// Longest side of the greyscale copy the ink share is measured on.
const INK_THUMBNAIL: u32 = 1000;

/// Share of each side left out of the ink measurement (black scanner edges, 黑边).
const INK_BORDER_PERCENT: u32 = 3;

pub use crate::model::intake_rules::{ColourMode, PageFormat, PageInfo};

/// The `image` crate's name of a page format.
fn image_format(f: PageFormat) -> ImageFormat {
    match f {
        PageFormat::Jpeg => ImageFormat::Jpeg,
        PageFormat::Png => ImageFormat::Png,
        PageFormat::Tiff => ImageFormat::Tiff,
    }
}

/// The format of a page image from its first bytes, or `None` when it is none of JPEG, PNG, TIFF.
pub fn sniff(bytes: &[u8]) -> Option<PageFormat> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(PageFormat::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(PageFormat::Png)
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Some(PageFormat::Tiff)
    } else {
        None
    }
}

/// Inspects a page image: format, size, resolution, colour mode and ink. Refuses (never panics on) a file
/// that is not a JPEG, PNG or TIFF, that is truncated or damaged, or that is larger than [`MAX_SIDE`] /
/// [`MAX_ALLOC`].
pub fn inspect(bytes: &[u8]) -> Result<PageInfo, PageError> {
    let format = sniff(bytes).ok_or(PageError::NotAnImage)?;
    let (dpi, jpeg_colour) = match format {
        PageFormat::Jpeg => {
            let meta = jpeg_meta(bytes)?;
            let colour = if meta.components == 1 { ColourMode::Grey } else { ColourMode::Colour };
            (meta.dpi, Some(colour))
        }
        PageFormat::Png => (png_dpi(bytes), None),
        PageFormat::Tiff => (tiff_fields(bytes).and_then(|f| f.dpi), None),
    };
    let image = decode(bytes, format)?;
    let colour = jpeg_colour.unwrap_or_else(|| colour_of(&image));
    Ok(PageInfo { format, width: image.width(), height: image.height(), dpi, colour, ink: ink(&image) })
}

/// The limits every page image is decoded under.
fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

/// Decodes a page image of a known format under [`limits`].
pub(super) fn decode(bytes: &[u8], format: PageFormat) -> Result<DynamicImage, PageError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format(format));
    reader.limits(limits());
    reader.decode().map_err(page_error)
}

fn page_error(e: ImageError) -> PageError {
    match e {
        ImageError::Limits(e) => PageError::TooLarge(format!(
            "{e} (a page image may be at most {MAX_SIDE} × {MAX_SIDE} pixels and {} MiB decoded)",
            MAX_ALLOC >> 20
        )),
        ImageError::Unsupported(e) => PageError::Unsupported(e.to_string()),
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            PageError::Unreadable("the file is truncated".into())
        }
        e => PageError::Unreadable(e.to_string()),
    }
}

/// The image with any transparency laid on white paper: 8-bit grey or 8-bit RGB.
pub(super) enum Flat {
    /// Grey (or bilevel) pixels.
    Grey(GrayImage),
    /// Colour pixels.
    Rgb(RgbImage),
}

/// Lays a decoded image on white and reduces it to 8 bits: grey when every pixel is grey, else RGB.
pub(super) fn flatten(image: &DynamicImage) -> Flat {
    let on_white = |v: u8, a: u8| ((v as u32 * a as u32 + 255 * (255 - a as u32) + 127) / 255) as u8;
    match image {
        DynamicImage::ImageLuma8(g) => Flat::Grey(g.clone()),
        DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLumaA16(_) => {
            let la = image.to_luma_alpha8();
            let (w, h) = la.dimensions();
            Flat::Grey(GrayImage::from_fn(w, h, |x, y| {
                let p = la.get_pixel(x, y).0;
                ::image::Luma([on_white(p[0], p[1])])
            }))
        }
        DynamicImage::ImageLuma16(_) => Flat::Grey(image.to_luma8()),
        _ if image.color().has_alpha() => {
            let rgba = image.to_rgba8();
            let (w, h) = rgba.dimensions();
            grey_if_possible(RgbImage::from_fn(w, h, |x, y| {
                let p = rgba.get_pixel(x, y).0;
                ::image::Rgb([on_white(p[0], p[3]), on_white(p[1], p[3]), on_white(p[2], p[3])])
            }))
        }
        DynamicImage::ImageRgb8(rgb) => grey_if_possible(rgb.clone()),
        _ => grey_if_possible(image.to_rgb8()),
    }
}

fn grey_if_possible(rgb: RgbImage) -> Flat {
    if rgb.as_raw().chunks_exact(3).all(|p| p[0] == p[1] && p[1] == p[2]) {
        let (w, h) = rgb.dimensions();
        let grey = rgb.as_raw().chunks_exact(3).map(|p| p[0]).collect();
        Flat::Grey(GrayImage::from_raw(w, h, grey).unwrap_or_else(|| GrayImage::new(w, h)))
    } else {
        Flat::Rgb(rgb)
    }
}

/// Whether a grey image holds only black and white.
pub(super) fn is_bilevel(grey: &GrayImage) -> bool {
    grey.as_raw().iter().all(|&v| v == 0 || v == 255)
}

/// The colour mode of a decoded (lossless) image, from its pixels.
fn colour_of(image: &DynamicImage) -> ColourMode {
    match flatten(image) {
        Flat::Grey(g) if is_bilevel(&g) => ColourMode::Bilevel,
        Flat::Grey(_) => ColourMode::Grey,
        Flat::Rgb(_) => ColourMode::Colour,
    }
}

/// The share of the page covered by ink, measured on a greyscale copy at most [`INK_THUMBNAIL`] pixels long,
/// without a border of [`INK_BORDER_PERCENT`] on each side. The paper's brightness is the 90th percentile of
/// the pixels; ink is darker than 60% of it (on a page that is mostly dark, darker than mid-grey), and a dark
/// pixel with no dark neighbour (a speck of dust or noise) is not ink.
fn ink(image: &DynamicImage) -> f32 {
    let grey = if image.width().max(image.height()) > INK_THUMBNAIL {
        image.thumbnail(INK_THUMBNAIL, INK_THUMBNAIL).to_luma8()
    } else {
        image.to_luma8()
    };
    ink_share(&grey)
}

fn ink_share(grey: &GrayImage) -> f32 {
    let (w, h) = grey.dimensions();
    let (bx, by) = (w * INK_BORDER_PERCENT / 100, h * INK_BORDER_PERCENT / 100);
    let (x0, x1, y0, y1) = (bx, w - bx, by, h - by);
    if x1 <= x0 || y1 <= y0 {
        return 0.0;
    }
    let mut histogram = [0u64; 256];
    for y in y0..y1 {
        for x in x0..x1 {
            histogram[grey.get_pixel(x, y).0[0] as usize] += 1;
        }
    }
    let total = u64::from(x1 - x0) * u64::from(y1 - y0);
    let mut seen = 0;
    let mut paper = 255u32;
    for (value, count) in histogram.iter().enumerate() {
        seen += count;
        if seen * 10 >= total * 9 {
            paper = value as u32;
            break;
        }
    }
    let threshold = if paper >= 128 { paper * 6 / 10 } else { 128 };
    let dark = |x: u32, y: u32| u32::from(grey.get_pixel(x, y).0[0]) < threshold;
    let mut inked = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            if dark(x, y)
                && ((x > 0 && dark(x - 1, y))
                    || (x + 1 < w && dark(x + 1, y))
                    || (y > 0 && dark(x, y - 1))
                    || (y + 1 < h && dark(x, y + 1)))
            {
                inked += 1;
            }
        }
    }
    inked as f32 / total as f32
}

/// What the markers of a JPEG say, before its image data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct JpegMeta {
    /// The start-of-frame marker (0xC0 baseline, 0xC1 extended, 0xC2 progressive …).
    pub sof: u8,
    /// Bits per sample.
    pub precision: u8,
    /// Width and height from the frame header.
    pub width: u16,
    /// Height.
    pub height: u16,
    /// Colour components (1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK).
    pub components: u8,
    /// Whether an Adobe APP14 marker is present (its CMYK is stored inverted).
    pub adobe: bool,
    /// Resolution: EXIF's when it has one, else JFIF's.
    pub dpi: Option<(u32, u32)>,
    /// The EXIF orientation (1–8), when given.
    pub orientation: Option<u16>,
}

/// Reads the markers of a JPEG up to its first scan. An error when there is no frame header before the scan
/// or the file ends inside a marker.
pub(super) fn jpeg_meta(bytes: &[u8]) -> Result<JpegMeta, PageError> {
    let truncated = || PageError::Unreadable("the JPEG is truncated or damaged".into());
    let mut meta = JpegMeta::default();
    let mut jfif_dpi = None;
    let mut exif = TiffFields::default();
    let mut pos = 2;
    loop {
        // Markers start with 0xFF, possibly repeated as fill.
        if *bytes.get(pos).ok_or_else(truncated)? != 0xFF {
            return Err(truncated());
        }
        while bytes.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *bytes.get(pos).ok_or_else(truncated)?;
        pos += 1;
        if marker == 0x01 || (0xD0..=0xD8).contains(&marker) {
            continue;
        }
        if marker == 0xD9 {
            break;
        }
        if marker == 0xDA {
            // Entropy-coded data never holds FF D9 (a data FF is stuffed as FF 00): a JPEG cut short has no end
            // marker after its first scan (zune-jpeg would fill the missing part with grey).
            if !bytes[pos..].windows(2).any(|w| w == [0xFF, 0xD9]) {
                return Err(PageError::Unreadable("the JPEG is truncated (no end-of-image marker)".into()));
            }
            break;
        }
        let len = bytes.get(pos..pos + 2).ok_or_else(truncated)?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let segment = bytes.get(pos + 2..pos + len).filter(|_| len >= 2).ok_or_else(truncated)?;
        match marker {
            0xE0 if segment.starts_with(b"JFIF\0") && segment.len() >= 12 => {
                let (x, y) =
                    (u16::from_be_bytes([segment[8], segment[9]]), u16::from_be_bytes([segment[10], segment[11]]));
                jfif_dpi = match segment[7] {
                    1 => dpi_pair(f64::from(x), f64::from(y)),
                    2 => dpi_pair(f64::from(x) * 2.54, f64::from(y) * 2.54),
                    _ => None,
                };
            }
            0xE1 if segment.starts_with(b"Exif\0\0") => {
                exif = tiff_fields(&segment[6..]).unwrap_or_default();
            }
            0xEE if segment.starts_with(b"Adobe") => meta.adobe = true,
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if segment.len() < 6 {
                    return Err(truncated());
                }
                meta.sof = marker;
                meta.precision = segment[0];
                meta.height = u16::from_be_bytes([segment[1], segment[2]]);
                meta.width = u16::from_be_bytes([segment[3], segment[4]]);
                meta.components = segment[5];
            }
            _ => {}
        }
        pos += len;
    }
    if meta.sof == 0 {
        return Err(PageError::Unreadable("the JPEG has no frame header".into()));
    }
    meta.dpi = exif.dpi.or(jfif_dpi);
    meta.orientation = exif.orientation;
    Ok(meta)
}

/// A resolution pair rounded to whole dots per inch; `None` when either is zero or absurd.
fn dpi_pair(x: f64, y: f64) -> Option<(u32, u32)> {
    let ok = |v: f64| (v.is_finite() && (0.5..=100_000.0).contains(&v)).then(|| v.round() as u32);
    Some((ok(x)?, ok(y)?))
}

/// The PNG's resolution from its `pHYs` chunk (pixels per metre), when it has one.
fn png_dpi(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut pos = 8;
    loop {
        let len = u32::from_be_bytes(bytes.get(pos..pos + 4)?.try_into().ok()?) as usize;
        let kind = bytes.get(pos + 4..pos + 8)?;
        let data = bytes.get(pos + 8..(pos + 8).checked_add(len)?)?;
        match kind {
            b"pHYs" if data.len() == 9 && data[8] == 1 => {
                let x = u32::from_be_bytes(data[0..4].try_into().ok()?);
                let y = u32::from_be_bytes(data[4..8].try_into().ok()?);
                return dpi_pair(f64::from(x) * 0.0254, f64::from(y) * 0.0254);
            }
            b"IDAT" | b"IEND" => return None,
            _ => {}
        }
        pos += 12 + len;
    }
}

/// What the first directory of a TIFF structure (a TIFF file, or the EXIF block of a JPEG) says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct TiffFields {
    dpi: Option<(u32, u32)>,
    orientation: Option<u16>,
}

/// Reads XResolution, YResolution, ResolutionUnit and Orientation from the first directory of a classic TIFF
/// structure (not BigTIFF). `None` when the structure is damaged.
fn tiff_fields(data: &[u8]) -> Option<TiffFields> {
    let big_endian = match data.get(0..4)? {
        b"II*\0" => false,
        b"MM\0*" => true,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = data.get(at..at + 2)?.try_into().ok()?;
        Some(if big_endian { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
        Some(if big_endian { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) })
    };
    let ifd = u32_at(4)? as usize;
    let entries = u16_at(ifd)? as usize;
    let (mut x, mut y, mut unit, mut orientation) = (None, None, 2u16, None);
    for i in 0..entries {
        let entry = ifd + 2 + 12 * i;
        let (tag, kind, count) = (u16_at(entry)?, u16_at(entry + 2)?, u32_at(entry + 4)?);
        let rational = || -> Option<f64> {
            // RATIONAL: two LONGs at the offset the entry holds.
            if kind != 5 || count < 1 {
                return None;
            }
            let at = u32_at(entry + 8)? as usize;
            let (n, d) = (u32_at(at)?, u32_at(at.checked_add(4)?)?);
            (d != 0).then(|| f64::from(n) / f64::from(d))
        };
        let short = || (kind == 3).then(|| u16_at(entry + 8)).flatten();
        match tag {
            0x011A => x = rational(),
            0x011B => y = rational(),
            0x0128 => unit = short().unwrap_or(2),
            0x0112 => orientation = short().filter(|o| (1..=8).contains(o)),
            _ => {}
        }
    }
    let dpi = match (x, y, unit) {
        (Some(x), Some(y), 2) => dpi_pair(x, y),
        (Some(x), Some(y), 3) => dpi_pair(x * 2.54, y * 2.54),
        _ => None,
    };
    Some(TiffFields { dpi, orientation })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use ::image::codecs::jpeg::{JpegEncoder, PixelDensity, PixelDensityUnit};
    use ::image::{ExtendedColorType, ImageEncoder, Luma};

    /// A simple deterministic pseudo-random sequence for noise.
    pub(crate) struct Lcg(pub u64);
    impl Lcg {
        pub(crate) fn next(&mut self) -> u32 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 33) as u32
        }
    }

    /// A white A4 page at 150 dpi with slight noise everywhere and dark specks on about 0.5% of it.
    pub(crate) fn speckled_page() -> GrayImage {
        let mut rng = Lcg(7);
        GrayImage::from_fn(1240, 1754, |_, _| {
            let r = rng.next();
            if r.is_multiple_of(200) { Luma([(r >> 8) as u8 % 100]) } else { Luma([245 + (r >> 8) as u8 % 11]) }
        })
    }

    /// The same page with lines of text-like black bars and a black scanner edge on the left.
    pub(crate) fn text_page() -> GrayImage {
        let mut page = speckled_page();
        for (x, y, p) in page.enumerate_pixels_mut() {
            let line = (150..1600).contains(&y) && (y - 150) % 60 < 22;
            let word = (150..1090).contains(&x) && (x / 37) % 5 != 4 && (x % 37) < 30;
            if (line && word && (x / 7 + y / 5) % 3 != 0) || x < 20 {
                p.0[0] = 20;
            }
        }
        page
    }

    pub(crate) fn jpeg(image: &GrayImage, dpi: Option<u16>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = JpegEncoder::new_with_quality(&mut out, 85);
        if let Some(d) = dpi {
            encoder.set_pixel_density(PixelDensity { density: (d, d), unit: PixelDensityUnit::Inches });
        }
        encoder.write_image(image.as_raw(), image.width(), image.height(), ExtendedColorType::L8).unwrap();
        out
    }

    pub(crate) fn png_rgb(image: &RgbImage, ppm: Option<u32>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, image.width(), image.height());
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_pixel_dims(ppm.map(|p| png::PixelDimensions { xppu: p, yppu: p, unit: png::Unit::Meter }));
        encoder.write_header().unwrap().write_image_data(image.as_raw()).unwrap();
        out
    }

    pub(crate) fn tiff_grey(image: &GrayImage, dpi: Option<u32>) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut encoder = tiff::encoder::TiffEncoder::new(&mut out).unwrap();
        let mut page = encoder.new_image::<tiff::encoder::colortype::Gray8>(image.width(), image.height()).unwrap();
        if let Some(d) = dpi {
            page.resolution(tiff::tags::ResolutionUnit::Inch, tiff::encoder::Rational { n: d, d: 1 });
        }
        page.write_data(image.as_raw()).unwrap();
        out.into_inner()
    }

    #[test]
    fn jpeg_resolution_comes_from_jfif() {
        let page = GrayImage::from_pixel(300, 400, Luma([250]));
        let low = inspect(&jpeg(&page, Some(72))).unwrap();
        assert_eq!((low.format, low.width, low.height, low.dpi), (PageFormat::Jpeg, 300, 400, Some((72, 72))));
        assert_eq!(low.colour, ColourMode::Grey);
        assert_eq!(inspect(&jpeg(&page, Some(300))).unwrap().dpi, Some((300, 300)));
    }

    #[test]
    fn jfif_dots_per_centimetre_and_aspect_only() {
        let mut bytes = jpeg(&GrayImage::from_pixel(40, 40, Luma([250])), Some(300));
        // The JFIF segment follows SOI: FFE0, length, "JFIF\0", version (2 bytes), units, X, Y.
        assert_eq!(&bytes[6..11], b"JFIF\0");
        bytes[13] = 2;
        bytes[14..18].copy_from_slice(&[0, 118, 0, 118]);
        assert_eq!(inspect(&bytes).unwrap().dpi, Some((300, 300)));
        bytes[13] = 0;
        assert_eq!(inspect(&bytes).unwrap().dpi, None);
    }

    #[test]
    fn exif_resolution_wins_over_jfif() {
        let bytes = jpeg(&GrayImage::from_pixel(40, 40, Luma([250])), Some(72));
        // An EXIF APP1 with IFD0 holding XResolution = YResolution = 400/1, ResolutionUnit = inch, Orientation 6.
        let mut tiff = b"MM\0*\0\0\0\x08".to_vec();
        tiff.extend_from_slice(&[0, 4]);
        let entry = |tag: u16, kind: u16, value: u32| {
            let mut e = tag.to_be_bytes().to_vec();
            e.extend_from_slice(&kind.to_be_bytes());
            e.extend_from_slice(&1u32.to_be_bytes());
            e.extend_from_slice(&value.to_be_bytes());
            e
        };
        let rational_at = 8 + 2 + 4 * 12 + 4;
        tiff.extend(entry(0x0112, 3, 6 << 16));
        tiff.extend(entry(0x011A, 5, rational_at));
        tiff.extend(entry(0x011B, 5, rational_at));
        tiff.extend(entry(0x0128, 3, 2 << 16));
        tiff.extend_from_slice(&[0, 0, 0, 0]);
        tiff.extend_from_slice(&[0, 0, 1, 144, 0, 0, 0, 1]);
        let mut app1 = vec![0xFF, 0xE1];
        app1.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
        app1.extend_from_slice(b"Exif\0\0");
        app1.extend(tiff);
        let mut with_exif = bytes[..2].to_vec();
        with_exif.extend(app1);
        with_exif.extend_from_slice(&bytes[2..]);
        assert_eq!(inspect(&with_exif).unwrap().dpi, Some((400, 400)));
        assert_eq!(jpeg_meta(&with_exif).unwrap().orientation, Some(6));
    }

    #[test]
    fn png_resolution_comes_from_phys() {
        let page = RgbImage::from_pixel(50, 60, ::image::Rgb([250, 250, 250]));
        let info = inspect(&png_rgb(&page, Some(11811))).unwrap();
        assert_eq!((info.format, info.width, info.height, info.dpi), (PageFormat::Png, 50, 60, Some((300, 300))));
        assert_eq!(inspect(&png_rgb(&page, None)).unwrap().dpi, None);
    }

    #[test]
    fn tiff_resolution_comes_from_its_tags() {
        let page = GrayImage::from_pixel(64, 48, Luma([128]));
        let info = inspect(&tiff_grey(&page, Some(600))).unwrap();
        assert_eq!((info.format, info.width, info.height, info.dpi), (PageFormat::Tiff, 64, 48, Some((600, 600))));
        assert_eq!(info.colour, ColourMode::Grey);
        // The tiff encoder writes 1/1 with ResolutionUnit = none by default: no resolution.
        assert_eq!(inspect(&tiff_grey(&page, None)).unwrap().dpi, None);
    }

    #[test]
    fn colour_mode_from_the_pixels() {
        let bw = GrayImage::from_fn(40, 40, |x, _| Luma([if x < 20 { 0 } else { 255 }]));
        assert_eq!(inspect(&tiff_grey(&bw, None)).unwrap().colour, ColourMode::Bilevel);
        let grey_rgb = RgbImage::from_fn(40, 40, |x, _| ::image::Rgb([x as u8, x as u8, x as u8]));
        assert_eq!(inspect(&png_rgb(&grey_rgb, None)).unwrap().colour, ColourMode::Grey);
        let red = RgbImage::from_pixel(40, 40, ::image::Rgb([200, 0, 0]));
        assert_eq!(inspect(&png_rgb(&red, None)).unwrap().colour, ColourMode::Colour);
    }

    #[test]
    fn a_speckled_white_page_reads_blank_and_a_page_of_text_does_not() {
        let blank = inspect(&jpeg(&speckled_page(), Some(150))).unwrap();
        assert!(blank.ink < 0.001, "blank page ink {}", blank.ink);
        let text = inspect(&jpeg(&text_page(), Some(150))).unwrap();
        assert!(text.ink > 0.05, "text page ink {}", text.ink);
        // The black edge alone is outside the measured area.
        let mut edged = speckled_page();
        for (x, _, p) in edged.enumerate_pixels_mut() {
            if x < 20 {
                p.0[0] = 0;
            }
        }
        assert!(inspect(&jpeg(&edged, Some(150))).unwrap().ink < 0.001);
        // An all-black page is not blank.
        assert!(inspect(&jpeg(&GrayImage::new(200, 300), None)).unwrap().ink > 0.9);
    }

    #[test]
    fn non_images_and_truncated_files_are_refused() {
        assert_eq!(inspect(b"%PDF-1.7 not an image"), Err(PageError::NotAnImage));
        assert_eq!(inspect(b""), Err(PageError::NotAnImage));
        let bytes = jpeg(&text_page(), Some(300));
        for cut in [3, 20, bytes.len() / 2] {
            let err = inspect(&bytes[..cut]).unwrap_err();
            assert!(matches!(err, PageError::Unreadable(_)), "cut at {cut}: {err:?}");
        }
        let png = png_rgb(&RgbImage::from_pixel(300, 300, ::image::Rgb([1, 2, 3])), None);
        assert!(matches!(inspect(&png[..png.len() - 40]), Err(PageError::Unreadable(_))));
        let tiff = tiff_grey(&GrayImage::from_pixel(300, 300, Luma([9])), None);
        assert!(inspect(&tiff[..tiff.len() / 2]).is_err());
    }

    #[test]
    fn a_bomb_is_refused_from_its_header() {
        // A PNG header claiming 100000 × 100000 grey pixels (10 GB decoded), then a tiny IDAT.
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, 100_000, 100_000);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.write_header().unwrap();
        let err = inspect(&out).unwrap_err();
        assert!(matches!(err, PageError::TooLarge(_)), "{err:?}");
        assert!(err.to_string().contains("too large"), "{err}");
        // A JPEG whose frame header says 60000 × 60000.
        let mut jpeg = jpeg(&GrayImage::from_pixel(8, 8, Luma([200])), None);
        let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        jpeg[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
        assert!(matches!(inspect(&jpeg), Err(PageError::TooLarge(_))), "{:?}", inspect(&jpeg));
    }
}
