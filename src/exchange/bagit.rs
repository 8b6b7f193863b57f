//! BagIt bags (RFC 8493) in a zip: the archival world's transfer format, so standard tools (bagit-python's
//! `bagit.py --validate`) check a dangan transfer package once it is unzipped.
//!
//! A bag is a directory `<root>/` holding `bagit.txt`, `bag-info.txt`, the payload under `data/`,
//! `manifest-sha256.txt` (every payload file's SHA-256) and `tagmanifest-sha256.txt` (the tag files' SHA-256).
//! dangan adds `dangan-signature.txt`: the sender installation's signature (Ed25519, or SM2 under the 国密 suite) over the tag manifest, which
//! covers the payload manifest and so every byte of the payload.

use super::zipsafe::{SafeZip, ZipRefusal};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, Write};

/// The signature tag file.
pub const SIGNATURE_FILE: &str = "dangan-signature.txt";

/// SHA-256 in lower-case hex, as BagIt manifests write it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::crypto::encode_hex(&Sha256::digest(bytes))
}

/// Writes a bag as a zip. `payload` paths are relative to `data/`; `info` goes into `bag-info.txt` (after the
/// computed `Bagging-Date` is given by the caller and `Payload-Oxum` is added here); `sign` returns the signer's
/// public key and signature (hex) over the tag manifest's bytes.
pub fn write_zip(
    root: &str,
    payload: &[(String, Vec<u8>)],
    info: &[(&str, String)],
    sign: impl FnOnce(&[u8]) -> (String, String),
) -> std::io::Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut manifest = String::new();
    let mut octets = 0u64;
    for (path, bytes) in payload {
        let path = format!("data/{path}");
        manifest.push_str(&format!("{}  {}\n", sha256_hex(bytes), encode_path(&path)));
        octets += bytes.len() as u64;
        // Scans and PDFs are compressed already; text compresses.
        let textual = [".json", ".csv", ".txt", ".md"].iter().any(|e| path.ends_with(e));
        zip.start_file(format!("{root}/{path}"), if textual { deflated } else { stored })?;
        zip.write_all(bytes)?;
    }
    let bagit = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n".to_string();
    let mut bag_info = String::new();
    for (k, v) in info {
        bag_info.push_str(&format!("{k}: {}\n", v.replace(['\r', '\n'], " ")));
    }
    bag_info.push_str(&format!("Payload-Oxum: {octets}.{}\n", payload.len()));
    let mut tagmanifest = String::new();
    for (name, text) in [("bagit.txt", &bagit), ("bag-info.txt", &bag_info), ("manifest-sha256.txt", &manifest)] {
        tagmanifest.push_str(&format!("{}  {name}\n", sha256_hex(text.as_bytes())));
        zip.start_file(format!("{root}/{name}"), deflated)?;
        zip.write_all(text.as_bytes())?;
    }
    let (public, signature) = sign(tagmanifest.as_bytes());
    zip.start_file(format!("{root}/tagmanifest-sha256.txt"), deflated)?;
    zip.write_all(tagmanifest.as_bytes())?;
    zip.start_file(format!("{root}/{SIGNATURE_FILE}"), deflated)?;
    zip.write_all(
        format!(
            "Signer-Key: {}\nSignature: {signature}\nSigned-File: tagmanifest-sha256.txt\n",
            crate::crypto::labelled_key(&public)
        )
        .as_bytes(),
    )?;
    Ok(zip.finish()?.into_inner())
}

/// RFC 8493 §2.1.3: CR, LF and `%` in manifest paths are percent-encoded.
fn encode_path(p: &str) -> String {
    p.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn decode_path(p: &str) -> String {
    p.replace("%0D", "\r").replace("%0A", "\n").replace("%0d", "\r").replace("%0a", "\n").replace("%25", "%")
}

/// A bag whose manifests, payload and signature were checked.
#[derive(Debug)]
pub struct VerifiedBag {
    /// The signer's public key (hex), from `dangan-signature.txt`.
    pub signer: String,
    /// `bag-info.txt`, in order.
    pub info: Vec<(String, String)>,
    /// The payload, by path relative to `data/`.
    pub payload: BTreeMap<String, Vec<u8>>,
}

/// One thing wrong with a bag, naming the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BagProblem {
    /// The file (path inside the bag).
    pub file: String,
    /// What is wrong.
    pub problem: String,
}

fn problem(file: &str, p: impl Into<String>) -> BagProblem {
    BagProblem { file: file.into(), problem: p.into() }
}

/// `hash  path` lines.
fn parse_manifest(text: &str) -> Result<Vec<(String, String)>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (hash, path) = l.split_once(char::is_whitespace).ok_or_else(|| format!("bad line {l:?}"))?;
            Ok((hash.trim().to_ascii_lowercase(), decode_path(path.trim_start())))
        })
        .collect()
}

/// Reads and checks a bag in a zip: completeness (every listed file present, no unlisted payload), every
/// SHA-256, the Payload-Oxum and the signature. Every problem is reported, each naming its file.
pub fn verify_zip<R: Read + Seek>(zip: &mut SafeZip<R>) -> Result<VerifiedBag, Vec<BagProblem>> {
    let files = zip.files().to_vec();
    // The bag is the archive's root or its single top-level directory.
    let root = if files.iter().any(|f| f == "bagit.txt") {
        String::new()
    } else {
        match files.iter().find(|f| f.ends_with("/bagit.txt") && f.matches('/').count() == 1) {
            Some(f) => f.trim_end_matches("bagit.txt").to_string(),
            None => return Err(vec![problem("bagit.txt", "missing: this is not a BagIt bag")]),
        }
    };
    let mut problems = Vec::new();
    let read = |zip: &mut SafeZip<R>, name: &str, problems: &mut Vec<BagProblem>| -> Option<Vec<u8>> {
        match zip.read(&format!("{root}{name}")) {
            Ok(b) => Some(b),
            Err(ZipRefusal::Missing(_)) => {
                problems.push(problem(name, "missing"));
                None
            }
            Err(e) => {
                problems.push(problem(name, format!("damaged: {e}")));
                None
            }
        }
    };
    let text = |b: Option<Vec<u8>>| b.map(|b| String::from_utf8_lossy(&b).into_owned());
    let bagit = text(read(zip, "bagit.txt", &mut problems)).unwrap_or_default();
    if !bagit.is_empty() && !bagit.contains("BagIt-Version:") {
        problems.push(problem("bagit.txt", "no BagIt-Version"));
    }
    let tagmanifest_bytes = read(zip, "tagmanifest-sha256.txt", &mut problems);
    let manifest_text = text(read(zip, "manifest-sha256.txt", &mut problems));
    let info_text = text(read(zip, "bag-info.txt", &mut problems)).unwrap_or_default();
    let signature_text = text(read(zip, SIGNATURE_FILE, &mut problems)).unwrap_or_default();

    // The tag manifest.
    if let Some(tm) = &tagmanifest_bytes {
        match parse_manifest(&String::from_utf8_lossy(tm)) {
            Err(e) => problems.push(problem("tagmanifest-sha256.txt", e)),
            Ok(lines) => {
                for (hash, name) in lines {
                    if let Some(b) = read(zip, &name, &mut problems)
                        && sha256_hex(&b) != hash
                    {
                        problems.push(problem(&name, "altered: its SHA-256 differs from the tag manifest"));
                    }
                }
            }
        }
    }
    // The payload manifest: every listed file present and unaltered, every payload file listed.
    let mut payload = BTreeMap::new();
    if let Some(m) = &manifest_text {
        match parse_manifest(m) {
            Err(e) => problems.push(problem("manifest-sha256.txt", e)),
            Ok(lines) => {
                let listed: HashMap<&str, &str> = lines.iter().map(|(h, p)| (p.as_str(), h.as_str())).collect();
                for f in &files {
                    let Some(rel) = f.strip_prefix(&root) else { continue };
                    if rel.starts_with("data/") && !listed.contains_key(rel) {
                        problems.push(problem(rel, "not in the manifest"));
                    }
                }
                for (hash, path) in &lines {
                    if !path.starts_with("data/") {
                        problems.push(problem(path, "listed outside data/"));
                        continue;
                    }
                    if let Some(b) = read(zip, path, &mut problems) {
                        if sha256_hex(&b) != *hash {
                            problems.push(problem(path, "altered: its SHA-256 differs from the manifest"));
                        } else {
                            payload.insert(path["data/".len()..].to_string(), b);
                        }
                    }
                }
            }
        }
    }
    let info: Vec<(String, String)> = info_text
        .lines()
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
        .collect();
    if let Some((_, oxum)) = info.iter().find(|(k, _)| k == "Payload-Oxum")
        && problems.is_empty()
    {
        let octets: u64 = payload.values().map(|b| b.len() as u64).sum();
        if *oxum != format!("{octets}.{}", payload.len()) {
            problems.push(problem("bag-info.txt", format!("Payload-Oxum {oxum} does not match the payload")));
        }
    }
    // The signature over the tag manifest.
    let field = |name: &str| {
        signature_text.lines().find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string())).unwrap_or_default()
    };
    let signer_field = field("Signer-Key:");
    let signer = crate::crypto::unlabelled_key(&signer_field).to_ascii_lowercase();
    if let Some(tm) = &tagmanifest_bytes
        && !signature_text.is_empty()
        && !crate::crypto::verify_signature_hex(&signer_field, tm, &field("Signature:"))
    {
        problems.push(problem(SIGNATURE_FILE, "the signature does not verify against the tag manifest"));
    }
    if problems.is_empty() { Ok(VerifiedBag { signer, info, payload }) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{Keys, MasterKey, Suite};
    use crate::exchange::zipsafe::ZipLimits;
    use std::io::Cursor;

    fn bag(keys: &Keys) -> Vec<u8> {
        let payload = vec![
            ("manifest.json".to_string(), br#"{"a":1}"#.to_vec()),
            ("materials/m1/v1.pdf".to_string(), b"%PDF-1.4 bytes".to_vec()),
        ];
        write_zip("dangan-x", &payload, &[("Source-Organization", "某单位".into())], |tm| {
            (keys.signing_public_hex(), keys.sign_hex(tm))
        })
        .unwrap()
    }

    fn open(bytes: Vec<u8>) -> SafeZip<Cursor<Vec<u8>>> {
        SafeZip::open(Cursor::new(bytes), ZipLimits::default()).unwrap()
    }

    #[test]
    fn a_written_bag_verifies() {
        for suite in Suite::ALL {
            let keys = Keys::derive(suite, &MasterKey::generate().unwrap());
            let z = bag(&keys);
            let v = verify_zip(&mut open(z.clone())).unwrap();
            assert_eq!(v.signer, keys.signing_public_hex());
            assert_eq!(v.payload["materials/m1/v1.pdf"], b"%PDF-1.4 bytes");
            assert!(v.info.iter().any(|(k, v)| k == "Payload-Oxum" && v == "21.2"));
            let mut zip = zip::ZipArchive::new(Cursor::new(z)).unwrap();
            let mut text = String::new();
            zip.by_name(&format!("dangan-x/{SIGNATURE_FILE}")).unwrap().read_to_string(&mut text).unwrap();
            assert!(text.starts_with(&format!("Signer-Key: {}\n", keys.signing_public())), "{suite}: {text}");
        }
    }

    /// Rewrites one entry of a zip.
    fn replace(zip: &[u8], name: &str, f: impl Fn(Vec<u8>) -> Option<Vec<u8>>) -> Vec<u8> {
        let mut r = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..r.len() {
            let mut e = r.by_index(i).unwrap();
            let mut b = Vec::new();
            e.read_to_end(&mut b).unwrap();
            let n = e.name().unwrap().to_string();
            let b = if n.ends_with(name) { f(b) } else { Some(b) };
            if let Some(b) = b {
                w.start_file(n, zip::write::SimpleFileOptions::default()).unwrap();
                w.write_all(&b).unwrap();
            }
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn altered_missing_unlisted_and_forged_files_are_named() {
        for suite in Suite::ALL {
            altered_missing_unlisted_and_forged_files_are_named_under(suite);
        }
    }

    fn altered_missing_unlisted_and_forged_files_are_named_under(suite: Suite) {
        let keys = Keys::derive(suite, &MasterKey::generate().unwrap());
        let z = bag(&keys);
        let names = |r: Result<VerifiedBag, Vec<BagProblem>>| -> Vec<String> {
            r.unwrap_err().into_iter().map(|p| format!("{}: {}", p.file, p.problem)).collect()
        };
        let altered = replace(&z, "v1.pdf", |mut b| {
            b[3] ^= 1;
            Some(b)
        });
        assert_eq!(
            names(verify_zip(&mut open(altered))),
            ["data/materials/m1/v1.pdf: altered: its SHA-256 differs from the manifest"]
        );
        let missing = replace(&z, "v1.pdf", |_| None);
        assert_eq!(names(verify_zip(&mut open(missing))), ["data/materials/m1/v1.pdf: missing"]);
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let mut r = zip::ZipArchive::new(Cursor::new(&z)).unwrap();
        for i in 0..r.len() {
            w.raw_copy_file(r.by_index(i).unwrap()).unwrap();
        }
        w.start_file("dangan-x/data/extra.txt", zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(b"smuggled").unwrap();
        let unlisted = w.finish().unwrap().into_inner();
        assert_eq!(names(verify_zip(&mut open(unlisted))), ["data/extra.txt: not in the manifest"]);
        // A forger who recomputes every manifest but holds no key: the signature gives it away.
        let other = Keys::derive(suite, &MasterKey::generate().unwrap());
        let forged = replace(&z, SIGNATURE_FILE, |_| {
            Some(format!("Signer-Key: {}\nSignature: {}\n", keys.signing_public(), other.sign_hex(b"x")).into_bytes())
        });
        assert_eq!(
            names(verify_zip(&mut open(forged))),
            ["dangan-signature.txt: the signature does not verify against the tag manifest"]
        );
        let no_bag = replace(&z, "bagit.txt", |_| None);
        assert!(names(verify_zip(&mut open(no_bag)))[0].starts_with("bagit.txt"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]

        /// One bit flipped anywhere in a package: refused, or (a flip in bytes no reader uses, such as a
        /// timestamp) accepted with the very same payload. Never a different payload, never a panic.
        #[test]
        fn a_flipped_bit_never_yields_a_different_payload(at in proptest::prelude::any::<proptest::sample::Index>(), bit in 0u8..8) {
            let keys = Keys::derive(Suite::Default, &MasterKey::from_bytes([9u8; 32]));
            let good = bag(&keys);
            let expected = verify_zip(&mut open(good.clone())).unwrap().payload;
            let mut z = good;
            let i = at.index(z.len());
            z[i] ^= 1 << bit;
            if let Ok(mut zip) = SafeZip::open(Cursor::new(z), ZipLimits::default())
                && let Ok(v) = verify_zip(&mut zip)
            {
                proptest::prop_assert_eq!(v.payload, expected);
            }
        }

        /// Arbitrary bytes never panic the zip, bag or catalogue readers.
        #[test]
        fn arbitrary_bytes_never_panic_the_readers(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            if let Ok(mut zip) = SafeZip::open(Cursor::new(bytes.clone()), ZipLimits::default()) {
                let _ = verify_zip(&mut zip);
            }
            let _ = crate::exchange::catalogue::parse_csv(&bytes);
        }
    }
}
