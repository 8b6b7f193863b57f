//! Tests of the extraction layer as others use it: sniffing, extraction of each format, the zip-bomb guard,
//! and both isolation modes (thread and worker process), including timeouts and the worker protocol.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::*;

const MAX: usize = DEFAULT_MAX_CHARS;

fn text_of(outcome: Result<Option<Extracted>>) -> String {
    outcome.expect("extraction failed").expect("no text").text
}

// ---------------------------------------------------------------------------------------------------------
// Building files in the tests

/// A DOCX (just enough of one) whose `word/document.xml` is `body` inside `<w:document><w:body>`.
fn docx_with_body(body: &str) -> Vec<u8> {
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
    );
    zip_with(&[
        ("[Content_Types].xml", br#"<?xml version="1.0"?><Types/>"#.as_slice()),
        ("word/document.xml", xml.as_bytes()),
    ])
}

fn zip_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).large_file(false);
    for (name, data) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn paragraph(text: &str) -> String {
    format!(
        r#"<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>"#
    )
}

fn table(rows: &[&[&str]]) -> String {
    let mut xml = String::from("<w:tbl>");
    for row in rows {
        xml.push_str("<w:tr>");
        for cell in *row {
            xml.push_str(&format!("<w:tc><w:tcPr/>{}</w:tc>", paragraph(cell)));
        }
        xml.push_str("</w:tr>");
    }
    xml.push_str("</w:tbl>");
    xml
}

/// A PDF of the given page content streams, with Helvetica as /F1 and, as /F2, a CJK font (Type0,
/// Identity-H, not embedded) whose ToUnicode map sends CIDs 1–6 to 干部档案管理.
fn pdf_with_pages(contents: &[&str]) -> Vec<u8> {
    let mut objects: Vec<String> = Vec::new();
    let n = contents.len();
    // 1 catalog, 2 pages, 3 Helvetica, 4 Type0 font, 5 CID font, 6 descriptor, 7 ToUnicode, then page/content pairs.
    let first_page = 8;
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", first_page + 2 * i)).collect();
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".to_owned());
    objects.push(format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")));
    objects.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned());
    objects.push(
        "<< /Type /Font /Subtype /Type0 /BaseFont /SimSun /Encoding /Identity-H /DescendantFonts [5 0 R] /ToUnicode 7 0 R >>"
            .to_owned(),
    );
    objects.push(
        "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /SimSun /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 6 0 R /DW 1000 >>"
            .to_owned(),
    );
    objects.push(
        "<< /Type /FontDescriptor /FontName /SimSun /Flags 4 /FontBBox [0 -141 1000 859] /ItalicAngle 0 /Ascent 859 /Descent -141 /CapHeight 683 /StemV 80 >>"
            .to_owned(),
    );
    let cmap = "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
        /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
        /CMapName /Adobe-Identity-UCS def /CMapType 2 def\n\
        1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
        6 beginbfchar <0001> <5E72> <0002> <90E8> <0003> <6863> <0004> <6848> <0005> <7BA1> <0006> <7406> endbfchar\n\
        endcmap CMapName currentdict /CMap defineresource pop end end";
    objects.push(format!("<< /Length {} >>\nstream\n{cmap}\nendstream", cmap.len()));
    for (i, content) in contents.iter().enumerate() {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {} 0 R /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> >>",
            first_page + 2 * i + 1
        ));
        objects.push(format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()));
    }
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        pdf.extend(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    pdf
}

fn png_header() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    png.extend([0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde]);
    png
}

fn jpeg_header() -> Vec<u8> {
    let mut jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10];
    jpeg.extend(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    jpeg
}

fn bmp_header() -> Vec<u8> {
    let mut bmp = b"BM".to_vec();
    bmp.extend(58u32.to_le_bytes()); // file size
    bmp.extend([0, 0, 0, 0]); // reserved
    bmp.extend(54u32.to_le_bytes()); // pixel data offset
    bmp.extend(40u32.to_le_bytes()); // BITMAPINFOHEADER
    bmp.extend([0u8; 36]);
    bmp
}

// ---------------------------------------------------------------------------------------------------------
// Sniffing

#[test]
fn sniffs_each_supported_type() {
    let pdf = pdf_with_pages(&["BT /F1 12 Tf 72 700 Td (x) Tj ET"]);
    assert_eq!(sniff_mime(&pdf, Some("whatever.bin")), MIME_PDF);
    let mut late_pdf = b"junk before the header\n".to_vec();
    late_pdf.extend(&pdf);
    assert_eq!(sniff_mime(&late_pdf, None), MIME_PDF);
    assert_eq!(sniff_mime(&docx_with_body(&paragraph("x")), None), MIME_DOCX);
    assert_eq!(sniff_mime(&zip_with(&[("a.txt", b"not word")]), Some("a.docx")), "application/zip");
    assert_eq!(sniff_mime(&png_header(), Some("scan.jpg")), "image/png");
    assert_eq!(sniff_mime(&jpeg_header(), None), "image/jpeg");
    assert_eq!(sniff_mime(b"II*\x00\x08\x00\x00\x00\x00\x00", None), "image/tiff");
    assert_eq!(sniff_mime(b"MM\x00*\x00\x00\x00\x08\x00\x00", None), "image/tiff");
    assert_eq!(sniff_mime(b"GIF89a\x01\x00\x01\x00\x00\x00\x00", None), "image/gif");
    assert_eq!(sniff_mime(b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00", None), "image/webp");
    assert_eq!(sniff_mime(&bmp_header(), None), "image/bmp");
    assert_eq!(sniff_mime("干部任免审批表".as_bytes(), None), "text/plain; charset=utf-8");
    assert_eq!(sniff_mime("# 简历".as_bytes(), Some("简历.md")), "text/markdown");
    assert_eq!(sniff_mime("# 简历".as_bytes(), Some("notes.MARKDOWN")), "text/markdown");
    assert_eq!(sniff_mime("姓名,部门\n".as_bytes(), Some("工资.csv")), "text/csv");
    assert_eq!(sniff_mime(b"\xff\xfe\x72\x5e", Some("a")), "text/plain; charset=utf-16");
}

#[test]
fn sniffing_trusts_content_over_names() {
    // Weak magic numbers do not turn text into binaries ("BM…" is infer's bitmap, "ID3" its MP3).
    assert_eq!(sniff_mime(b"BMI report", Some("a.txt")), "text/plain; charset=utf-8");
    assert_eq!(sniff_mime(b"ID3 tags", None), "text/plain; charset=utf-8");
    // Text that mentions a PDF header is still text.
    assert_eq!(sniff_mime(b"see %PDF-1.7 spec", None), "text/plain; charset=utf-8");
    // A name never makes binary content a PDF or text.
    assert_eq!(sniff_mime(b"\x00\x01\x02\xff", Some("resume.pdf")), MIME_UNKNOWN);
    assert_eq!(sniff_mime(&png_header(), Some("notes.txt")), "image/png");
    // Not UTF-8 (e.g. GBK): the text-like extension decides, without claiming a charset.
    let gbk = b"\xb8\xc9\xb2\xbf"; // 干部 in GBK
    assert_eq!(sniff_mime(gbk, Some("old.TXT")), "text/plain");
    assert_eq!(sniff_mime(gbk, Some("old.bin")), MIME_UNKNOWN);
    assert_eq!(sniff_mime(gbk, None), MIME_UNKNOWN);
    // Empty files have no content to judge.
    assert_eq!(sniff_mime(b"", Some("empty.md")), "text/markdown");
    assert_eq!(sniff_mime(b"", Some("empty.pdf")), MIME_UNKNOWN);
    assert_eq!(sniff_mime(b"", None), MIME_UNKNOWN);
}

#[test]
fn has_text_for_documents_not_images() {
    for mime in [MIME_PDF, MIME_DOCX, "text/plain; charset=utf-8", "TEXT/Markdown", "text/csv"] {
        assert!(has_text(mime), "{mime}");
    }
    for mime in ["image/png", "image/jpeg", "application/zip", MIME_UNKNOWN, ""] {
        assert!(!has_text(mime), "{mime}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// Extraction per format

#[test]
fn extracts_plain_text() {
    let raw = "\u{feff}干部人事档案\r\n\r\n\r\n\r\n姓名：张三\0\u{1b}\n";
    let extracted = extract_in_process("text/plain; charset=utf-8", raw.as_bytes(), MAX).unwrap().unwrap();
    assert_eq!(extracted.text, "干部人事档案\n\n姓名：张三");
    assert_eq!(extracted.pages, None);
    // Invalid UTF-8 is decoded lossily, not refused.
    assert_eq!(text_of(extract_in_process("text/plain", b"ok \xff ok", MAX)), "ok \u{fffd} ok");
    // The cap holds.
    assert_eq!(text_of(extract_in_process("text/plain", "一二三四五".as_bytes(), 3)), "一二三");
}

#[test]
fn extracts_utf16_text() {
    let mut le = vec![0xff, 0xfe];
    let mut be = vec![0xfe, 0xff];
    for unit in "任免审批表\r\n第二行".encode_utf16() {
        le.extend(unit.to_le_bytes());
        be.extend(unit.to_be_bytes());
    }
    assert_eq!(sniff_mime(&le, None), "text/plain; charset=utf-16");
    for bytes in [le, be] {
        let mime = sniff_mime(&bytes, None);
        assert_eq!(text_of(extract_in_process(&mime, &bytes, MAX)), "任免审批表\n第二行");
    }
}

#[test]
fn markdown_passes_through_as_text() {
    let md = "# 个人简历\n\n- **姓名**：李四\n- 部门：组织部\n";
    let mime = sniff_mime(md.as_bytes(), Some("简历.md"));
    assert!(has_text(&mime));
    assert_eq!(text_of(extract_in_process(&mime, md.as_bytes(), MAX)), md.trim_end());
}

#[test]
fn extracts_docx_paragraphs_tabs_and_tables() {
    let body = [
        paragraph("干部任免审批表"),
        r#"<w:p><w:r><w:t>姓名</w:t></w:r><w:r><w:tab/><w:t>张三</w:t></w:r><w:r><w:br/><w:t>A&amp;B &#x6863;案</w:t></w:r></w:p>"#.to_owned(),
        table(&[&["出生年月", "1975.03"], &["籍贯", "江苏南京"]]),
        paragraph("  工作经历  "),
        "<w:p><w:r><w:delText>删除的字</w:delText><w:instrText>PAGE</w:instrText></w:r></w:p>".to_owned(),
        "<w:sectPr/>".to_owned(),
    ]
    .concat();
    let docx = docx_with_body(&body);
    let mime = sniff_mime(&docx, Some("任免表.docx"));
    assert_eq!(mime, MIME_DOCX);
    let extracted = extract_in_process(&mime, &docx, MAX).unwrap().unwrap();
    assert_eq!(extracted.text, "干部任免审批表\n姓名\t张三\nA&B 档案\n出生年月\t1975.03\n籍贯\t江苏南京\n  工作经历");
    assert_eq!(extracted.pages, None);
}

#[test]
fn docx_without_document_part_or_zip_is_unreadable() {
    let no_part = zip_with(&[("word/styles.xml", b"<w:styles/>")]);
    assert!(matches!(extract_in_process(MIME_DOCX, &no_part, MAX), Err(ExtractError::Unreadable(_))));
    assert!(matches!(extract_in_process(MIME_DOCX, b"PK\x03\x04 not really", MAX), Err(ExtractError::Unreadable(_))));
    let broken_xml = docx_with_body("<w:p><w:r><w:t>未闭合</w:r></w:p>");
    assert!(matches!(extract_in_process(MIME_DOCX, &broken_xml, MAX), Err(ExtractError::Unreadable(_))));
}

/// A document.xml of `size` bytes that compresses extremely well.
fn bomb_xml(size: usize) -> Vec<u8> {
    let mut xml = br#"<w:document xmlns:w="x"><w:body><w:p><w:r><w:t>"#.to_vec();
    xml.resize(size, b'A');
    xml.extend(b"</w:t></w:r></w:p></w:body></w:document>");
    xml
}

#[test]
fn docx_zip_bombs_are_refused() {
    // Over the size limit, as the header says.
    let big = zip_with(&[("word/document.xml", &bomb_xml(65 * 1024 * 1024))]);
    assert_eq!(
        extract_in_process(MIME_DOCX, &big, MAX),
        Err(ExtractError::TooLarge {
            what: "decompressed size of word/document.xml (bytes)".to_owned(),
            limit: docx::MAX_PART_BYTES
        })
    );
    // Under the size limit but compressed a thousandfold.
    let dense = zip_with(&[("word/document.xml", &bomb_xml(8 * 1024 * 1024))]);
    assert_eq!(
        extract_in_process(MIME_DOCX, &dense, MAX),
        Err(ExtractError::TooLarge {
            what: "compression ratio of word/document.xml".to_owned(),
            limit: docx::MAX_RATIO
        })
    );
    // Headers that lie about the size: the streaming count still stops it.
    let mut lying = dense.clone();
    let real_size = (8 * 1024 * 1024 + 40u32).to_le_bytes();
    patch_all(&mut lying, &real_size, &1000u32.to_le_bytes());
    // (The zip reader itself also refuses an entry larger than its header declares.)
    let r = extract_in_process(MIME_DOCX, &lying, MAX);
    assert!(
        matches!(&r, Err(ExtractError::TooLarge { what, .. }) if what.contains("ratio"))
            || matches!(&r, Err(ExtractError::Unreadable(why)) if why.contains("declared")),
        "{r:?}"
    );
}

/// Replaces every occurrence of `from` (the uncompressed size in the local and central headers).
fn patch_all(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    let mut patched = 0;
    for at in 0..bytes.len() - from.len() {
        if &bytes[at..at + from.len()] == from {
            bytes[at..at + to.len()].copy_from_slice(to);
            patched += 1;
        }
    }
    assert!(patched >= 2, "size fields not found ({patched})");
}

#[test]
fn extracts_pdf_text_and_pages() {
    let pdf = pdf_with_pages(&[
        "BT /F1 24 Tf 72 700 Td (Curriculum vitae) Tj 0 -30 Td (of Zhang San) Tj ET",
        "BT /F2 24 Tf 72 700 Td <00010002> Tj ET BT /F2 24 Tf 72 600 Td [<0003> -400 <0004> -400 <0005>] TJ 0 -26 Td <0006> Tj ET",
    ]);
    let extracted = extract_in_process(MIME_PDF, &pdf, MAX).unwrap().unwrap();
    assert_eq!(extracted.pages, Some(2));
    // Latin lines stay apart; CJK glyphs spread out by TJ spacing or line breaks are joined up again.
    assert!(extracted.text.contains("Curriculum vitae\nof Zhang San"), "{:?}", extracted.text);
    assert!(extracted.text.contains("档案管理"), "{:?}", extracted.text);
    assert!(extracted.text.contains("干部"), "{:?}", extracted.text);
}

#[test]
fn pdf_text_knows_where_each_page_starts() {
    let pdf = pdf_with_pages(&[
        "BT /F1 24 Tf 72 700 Td (Curriculum vitae) Tj ET",
        "",
        "BT /F2 24 Tf 72 700 Td <00010002> Tj 0 -26 Td <00030004> Tj ET",
        "BT /F1 24 Tf 72 700 Td (the end) Tj ET",
    ]);
    let extracted = extract_in_process(MIME_PDF, &pdf, MAX).unwrap().unwrap();
    assert_eq!(extracted.pages, Some(4));
    // Each page normalised on its own (the CJK lines of page 3 joined), pages apart by a paragraph break; the
    // empty page 2 starts where page 3 does.
    assert_eq!(extracted.text, "Curriculum vitae\n\n干部档案\n\nthe end");
    assert_eq!(extracted.page_starts, [0, 18, 18, 24]);
    let offset_of = |needle: &str| extracted.text[..extracted.text.find(needle).unwrap()].chars().count();
    assert_eq!(page_at(&extracted.page_starts, offset_of("vitae")), Some(1));
    assert_eq!(page_at(&extracted.page_starts, offset_of("档案")), Some(3));
    assert_eq!(page_at(&extracted.page_starts, offset_of("end")), Some(4));
    assert_eq!(page_at(&[], 5), None);
    // The worker hands the page starts over to the parent.
    assert_eq!(real_worker().extract(MIME_PDF, &pdf), Ok(Some(extracted)));
}

#[test]
fn garbage_pdfs_are_unreadable_not_panics() {
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let mut truncated = pdf_with_pages(&["BT /F1 12 Tf 72 700 Td (cut) Tj ET"]);
    truncated.truncate(truncated.len() / 2);
    let extractor = Extractor::in_thread(Duration::from_secs(10));
    for bytes in [garbage.as_slice(), b"%PDF-1.7\n", b"%PDF-1.4 trailer << >> %%EOF", &truncated] {
        let outcome = extract_in_process(MIME_PDF, bytes, MAX);
        assert!(matches!(outcome, Err(ExtractError::Unreadable(_))), "{outcome:?}");
        let isolated = extractor.extract(MIME_PDF, bytes);
        assert!(matches!(isolated, Err(ExtractError::Unreadable(_) | ExtractError::Panicked)), "{isolated:?}");
    }
}

#[test]
fn empty_input() {
    assert_eq!(text_of(extract_in_process("text/plain", b"", MAX)), "");
    assert_eq!(text_of(extract_in_process("text/markdown", b"\xef\xbb\xbf", MAX)), "");
    assert!(matches!(extract_in_process(MIME_PDF, b"", MAX), Err(ExtractError::Unreadable(_))));
    assert!(matches!(extract_in_process(MIME_DOCX, b"", MAX), Err(ExtractError::Unreadable(_))));
    assert_eq!(extract_in_process("image/png", b"", MAX), Ok(None));
    assert_eq!(extract_in_process(MIME_UNKNOWN, b"", MAX), Ok(None));
    assert_eq!(Extractor::in_thread(Duration::from_secs(5)).extract("text/plain", b"").unwrap().unwrap().text, "");
}

#[test]
fn images_carry_no_text() {
    let png = png_header();
    assert_eq!(extract_in_process("image/png", &png, MAX), Ok(None));
    // No worker is started for them: a worker that cannot even start is never noticed.
    let missing = Extractor::with_worker("/nonexistent/worker".into(), vec![], Duration::from_secs(1));
    assert_eq!(missing.extract("image/png", &png), Ok(None));
}

// ---------------------------------------------------------------------------------------------------------
// Isolation in a thread

#[test]
fn in_thread_extractor_times_out() {
    let extractor = Extractor::in_thread(Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(extractor.extract("test/sleep", b"slow"), Err(ExtractError::Timeout(Duration::from_millis(200))));
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
}

#[test]
fn in_thread_extractor_survives_panics() {
    let extractor = Extractor::in_thread(Duration::from_secs(5));
    assert_eq!(extractor.extract("test/panic", b"boom"), Err(ExtractError::Panicked));
    // And keeps working afterwards.
    assert_eq!(text_of(extractor.extract("text/plain", "之后".as_bytes())), "之后");
    let capped = Extractor::in_thread(Duration::from_secs(5)).with_max_chars(2);
    assert_eq!(capped.max_chars(), 2);
    assert_eq!(text_of(capped.extract("text/plain", "一二三".as_bytes())), "一二");
}

// ---------------------------------------------------------------------------------------------------------
// Isolation in a worker process

fn sh(script: &str, timeout: Duration) -> Extractor {
    Extractor::with_worker("sh".into(), vec!["-c".into(), script.into()], timeout)
}

#[test]
fn worker_is_killed_at_the_timeout_and_reaped() {
    let pid_file = tempfile::NamedTempFile::new().unwrap();
    let script = format!("echo $$ > '{}'; cat >/dev/null; exec sleep 5", pid_file.path().display());
    let extractor = sh(&script, Duration::from_millis(200));
    let started = Instant::now();
    let outcome = extractor.extract(MIME_DOCX, &vec![b'x'; 4 * 1024 * 1024]);
    let elapsed = started.elapsed();
    assert_eq!(outcome, Err(ExtractError::Timeout(Duration::from_millis(200))));
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    // Killed and reaped: the worker's process entry is gone, not left a zombie (Linux /proc).
    let pid = std::fs::read_to_string(pid_file.path()).unwrap();
    let stat = Path::new("/proc").join(pid.trim()).join("stat");
    assert!(!stat.exists(), "worker {} still there: {:?}", pid.trim(), std::fs::read_to_string(&stat));
}

/// Whether a process is alive: its /proc entry exists and it is not a zombie (an orphan that dies is reparented to
/// a PID 1 that may be slow to reap it). Its process group with it.
fn alive_with_group(pid: &str) -> Option<(char, String)> {
    let stat = std::fs::read_to_string(Path::new("/proc").join(pid.trim()).join("stat")).ok()?;
    // "pid (comm) state ppid pgrp …": the command may hold spaces and parentheses; the fields after it do not.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?.chars().next()?;
    let group = fields.nth(1)?.to_owned();
    (state != 'Z').then_some((state, group))
}

#[test]
fn worker_timeout_kills_its_whole_process_group() {
    // The worker starts a helper that would outlive it (not `exec`, so it is a grandchild of the parent), then
    // hangs: at the timeout the parent kills the worker's process group, helper included.
    let dir = tempfile::tempdir().unwrap();
    let (worker_pid, helper_pid) = (dir.path().join("worker"), dir.path().join("helper"));
    let script = format!(
        "echo $$ > '{}'; sleep 30 & echo $! > '{}'; cat >/dev/null; wait",
        worker_pid.display(),
        helper_pid.display()
    );
    let outcome = sh(&script, Duration::from_millis(500)).extract(MIME_DOCX, b"x");
    assert_eq!(outcome, Err(ExtractError::Timeout(Duration::from_millis(500))));
    let (worker, helper) = (std::fs::read_to_string(worker_pid).unwrap(), std::fs::read_to_string(helper_pid).unwrap());
    // Nothing of the worker's group is left (an orphan may take a moment to be reaped: it is dead, not alive).
    let deadline = Instant::now() + Duration::from_secs(2);
    while alive_with_group(&helper).is_some() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(alive_with_group(&worker), None, "the worker {worker} survived");
    assert_eq!(alive_with_group(&helper), None, "the helper {helper} survived its worker's timeout");
}

#[test]
fn worker_runs_in_its_own_process_group_with_a_cleared_environment() {
    let script = r#"cat >/dev/null; set -- $(cut -d')' -f2 /proc/$$/stat); printf '{"status":"text","text":"%s %s %s"}
' "$$" "$3" "$(env | cut -d= -f1 | sort | tr '
' ',')""#;
    let text = text_of(sh(script, Duration::from_secs(5)).extract(MIME_DOCX, b"x"));
    let [pid, group, env] = text.splitn(3, ' ').collect::<Vec<_>>()[..] else { panic!("{text}") };
    assert_eq!(pid, group, "the worker leads its own process group");
    let env: Vec<&str> = env.split(',').filter(|v| !v.is_empty()).collect();
    for name in &env {
        assert!(
            ["PATH", "LANG", "OMP_THREAD_LIMIT", "TESSDATA_PREFIX", "PWD", "SHLVL", "_"].contains(name)
                || name.starts_with("DANGAN_WORKER_"),
            "{name} reaches the worker: {env:?}"
        );
    }
    assert!(env.contains(&"DANGAN_WORKER_MEMORY_BYTES") && env.contains(&"LANG"), "{env:?}");
}

#[test]
fn worker_that_never_reads_its_input_does_not_deadlock() {
    let extractor = sh("exec sleep 5", Duration::from_millis(300));
    let started = Instant::now();
    let outcome = extractor.extract(MIME_DOCX, &vec![b'x'; 8 * 1024 * 1024]);
    assert_eq!(outcome, Err(ExtractError::Timeout(Duration::from_millis(300))));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn worker_answers_are_parsed() {
    let text = sh(
        r#"cat >/dev/null; echo "a library's stray line"; printf '%s\n' '{"status":"text","text":"个人简历\n张三","pages":2}'"#,
        Duration::from_secs(5),
    );
    assert_eq!(
        text.extract(MIME_DOCX, b"input"),
        Ok(Some(Extracted { text: "个人简历\n张三".to_owned(), pages: Some(2), page_starts: vec![] }))
    );
    // The mime and the cap are the last two arguments ($0 is the first after the script for `sh -c`).
    let echo_args =
        sh(r#"cat >/dev/null; printf '{"status":"text","text":"%s %s"}\n' "$0" "$1""#, Duration::from_secs(5))
            .with_max_chars(77);
    assert_eq!(text_of(echo_args.extract(MIME_DOCX, b"")), format!("{MIME_DOCX} 77"));
    // The parent enforces the cap even on a worker that ignores it.
    let capped = sh(r#"printf '%s\n' '{"status":"text","text":"一二三四"}'"#, Duration::from_secs(5)).with_max_chars(2);
    assert_eq!(text_of(capped.extract(MIME_DOCX, b"")), "一二");
    let cases = [
        (r#"printf '{"status":"no_text"}\n'"#, Ok(None)),
        (
            r#"printf '{"status":"unreadable","message":"bad xref"}\n'"#,
            Err(ExtractError::Unreadable("bad xref".to_owned())),
        ),
        (
            r#"printf '{"status":"too_large","what":"ratio","limit":200}\n'"#,
            Err(ExtractError::TooLarge { what: "ratio".to_owned(), limit: 200 }),
        ),
        (r#"printf '{"status":"panicked"}\n'; exit 0"#, Err(ExtractError::Panicked)),
    ];
    for (script, expected) in cases {
        assert_eq!(sh(script, Duration::from_secs(5)).extract(MIME_PDF, b"%PDF-"), expected, "{script}");
    }
}

#[test]
fn worker_failures_are_worker_errors() {
    let cases = [
        "cat >/dev/null; exit 3", // died without an answer
        "kill -9 $$",             // killed by a signal
        "printf 'not json\\n'",   // garbage
        "exec yes 0123456789",    // an endless answer, longer than allowed (cap 1000 chars)
    ];
    for script in cases {
        let outcome = sh(script, Duration::from_secs(5)).with_max_chars(1000).extract(MIME_DOCX, b"x");
        assert!(matches!(outcome, Err(ExtractError::Worker(_))), "{script}: {outcome:?}");
    }
    let missing = Extractor::with_worker("/nonexistent/worker".into(), vec![], Duration::from_secs(1));
    assert!(matches!(missing.extract(MIME_DOCX, b"x"), Err(ExtractError::Worker(_))));
}

/// The name of [`worker_entry_point`] as the test harness knows it (without the crate name).
fn worker_entry_test_name() -> String {
    let module = module_path!().split_once("::").map(|(_, rest)| rest).unwrap_or("");
    format!("{module}::worker_entry_point")
}

/// Not a test of its own: the body of the worker process for [`real_worker_round_trip`], which re-executes
/// this test binary with this test as the only one to run and `extract-worker <mime> <max_chars>` after it.
#[test]
#[ignore = "the worker process of real_worker_round_trip"]
fn worker_entry_point() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "extract-worker") {
        std::process::exit(worker_main(&args));
    }
}

/// An extractor whose worker process is this test binary running [`worker_entry_point`].
fn real_worker() -> Extractor {
    let program = std::env::current_exe().unwrap();
    let args = vec![
        worker_entry_test_name(),
        "--exact".to_owned(),
        "--ignored".to_owned(),
        "--quiet".to_owned(),
        "--test-threads=1".to_owned(),
        "extract-worker".to_owned(),
    ];
    Extractor::with_worker(program, args, Duration::from_secs(20))
}

#[test]
fn plain_text_is_read_without_a_worker() {
    // Plain text has no parser to confine: it is read in this process, so a missing worker does not matter.
    let missing = Extractor::with_worker("/nonexistent/worker".into(), vec![], Duration::from_secs(1));
    assert_eq!(text_of(missing.extract("text/plain; charset=utf-8", "干部\r\n档案".as_bytes())), "干部\n档案");
    assert!(matches!(missing.extract(MIME_DOCX, b"x"), Err(ExtractError::Worker(_))));
    // A large text file goes to the worker, whose memory is limited.
    let large = vec![b'a'; IN_PROCESS_TEXT_BYTES + 1];
    assert!(matches!(missing.extract("text/plain", &large), Err(ExtractError::Worker(_))));
}

#[test]
fn real_worker_round_trip() {
    let extractor = real_worker();

    let started = Instant::now();
    let text = extractor.extract("text/plain; charset=utf-8", "干部\r\n\r\n\r\n档案".as_bytes());
    let round_trip = started.elapsed();
    eprintln!("worker round trip (text, test binary as worker): {round_trip:?}");
    assert_eq!(text_of(text), "干部\n\n档案");

    let docx = docx_with_body(&table(&[&["姓名", "王五"]]));
    assert_eq!(text_of(extractor.extract(MIME_DOCX, &docx)), "姓名\t王五");
    let pdf = pdf_with_pages(&["BT /F2 24 Tf 72 700 Td <0003000400050006> Tj ET"]);
    let started = Instant::now();
    let extracted = extractor.extract(MIME_PDF, &pdf).unwrap().unwrap();
    eprintln!("worker round trip (small PDF): {:?}", started.elapsed());
    assert_eq!(extracted, Extracted { text: "档案管理".to_owned(), pages: Some(1), page_starts: vec![0] });
    assert!(matches!(extractor.extract(MIME_PDF, b"garbage"), Err(ExtractError::Unreadable(_))));
    assert!(matches!(
        extractor.extract(MIME_DOCX, &zip_with(&[("word/document.xml", &bomb_xml(8 * 1024 * 1024))])),
        Err(ExtractError::TooLarge { .. })
    ));
}

// ---------------------------------------------------------------------------------------------------------
// Real files

/// `fixtures/files/` of the package, found from the manifest dir or from this source file (so the tests also
/// run from a throwaway crate that includes this module by path).
fn fixture_dir() -> Option<PathBuf> {
    let from_manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/files");
    let from_source = Path::new(file!()).ancestors().nth(3).map(|root| root.join("fixtures/files"));
    [Some(from_manifest), from_source].into_iter().flatten().find(|dir| dir.join("manifest.json").is_file())
}

/// One entry of `fixtures/files/manifest.json` (the fields these tests need).
#[derive(serde::Deserialize)]
struct Fixture {
    file: String,
    mime: String,
    pages: u32,
    phrases: Vec<String>,
    text_expected: bool,
}

#[test]
fn extracts_the_fixture_files() {
    let dir = fixture_dir().expect("fixtures/files/manifest.json is part of the repository and must be found");
    let manifest = std::fs::read(dir.join("manifest.json")).unwrap();
    let fixtures: Vec<Fixture> = serde_json::from_slice(&manifest).unwrap();
    assert!(!fixtures.is_empty());
    let extractor = Extractor::in_thread(Duration::from_secs(30));
    let worker = real_worker();
    for fixture in fixtures {
        let name = &fixture.file;
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let mime = sniff_mime(&bytes, Some(name));
        assert_eq!(essence(&mime), essence(&fixture.mime), "{name}");
        let outcome = extractor.extract(&mime, &bytes);
        assert_eq!(worker.extract(&mime, &bytes), outcome, "{name}: worker and thread disagree");
        if fixture.text_expected {
            let extracted = outcome.unwrap_or_else(|e| panic!("{name}: {e}")).expect(name);
            for phrase in &fixture.phrases {
                assert!(extracted.text.contains(phrase.as_str()), "{name}: {phrase} not in {:?}", extracted.text);
            }
            if essence(&mime) == MIME_PDF {
                assert_eq!(extracted.pages, Some(fixture.pages), "{name}");
            }
        } else {
            match outcome {
                Ok(None) | Err(ExtractError::Unreadable(_)) => {}
                Ok(Some(extracted)) => assert_eq!(extracted.text, "", "{name}"),
                Err(other) => panic!("{name}: {other}"),
            }
        }
    }
}
