//! The scanning room's intake: what reading a page image costs (format, pixels, resolution, colour, ink for
//! near-blank pages) and assembling a material's PDF from its pages (JPEGs embedded byte for byte), on A4 pages
//! scanned at 300 dpi in grey (2480×3508 pixels), the size the 干部人事档案数字化 rules lead to.
//!
//! Run: `cargo bench --bench pages` (figures in the README).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use image::codecs::jpeg::{JpegEncoder, PixelDensity};
use image::{GrayImage, Luma};
use std::time::Duration;

/// A page of "text": dark strokes on an off-white page, as a grey 300-dpi scan.
fn page(seed: u32) -> Vec<u8> {
    let (w, h) = (2480, 3508);
    let img = GrayImage::from_fn(w, h, |x, y| {
        let line = (y / 60) % 2 == 1 && y > 200 && y < h - 200;
        let word = !((x + seed * 37) / 90).is_multiple_of(5) && x > 180 && x < w - 180;
        let noise = ((x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) % 23) as u8;
        if line && word { Luma([30 + noise]) } else { Luma([238 + noise % 12]) }
    });
    let mut out = Vec::new();
    let mut enc = JpegEncoder::new_with_quality(&mut out, 80);
    enc.set_pixel_density(PixelDensity::dpi(300));
    enc.encode_image(&img).unwrap();
    out
}

fn pages(c: &mut Criterion) {
    let scans: Vec<Vec<u8>> = (0..10).map(page).collect();
    let bytes: u64 = scans.iter().map(|s| s.len() as u64).sum();
    let mut g = c.benchmark_group("pages");
    g.sample_size(10).measurement_time(Duration::from_secs(8)).warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(1));
    g.bench_function("inspect_a4_300dpi_page", |b| b.iter(|| dangan::digitise::image::inspect(&scans[0]).unwrap()));
    let infos: Vec<_> = scans.iter().map(|s| dangan::digitise::image::inspect(s).unwrap()).collect();
    let inputs: Vec<(&[u8], &_)> = scans.iter().map(|s| s.as_slice()).zip(infos.iter()).collect();
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("assemble_pdf_of_10_pages", |b| b.iter(|| dangan::digitise::pdf::assemble(&inputs).unwrap()));
    let pdf = dangan::digitise::pdf::assemble(&inputs).unwrap();
    g.throughput(Throughput::Elements(1));
    g.bench_function("jpeg_page_back_out_of_the_pdf", |b| {
        b.iter(|| dangan::digitise::pdf::embedded_jpeg(&pdf, 7).unwrap())
    });
    g.finish();
    eprintln!("10 pages: {} KiB of JPEG, PDF {} KiB", bytes / 1024, pdf.len() / 1024);
}

criterion_group!(benches, pages);
criterion_main!(benches);
