//! Page images of scanned materials (数字化): a material scanned in the scanning room arrives as one image per
//! page (JPEG, PNG or TIFF). This module is the pure, store-independent toolkit the service calls:
//!
//! * [`image`] — what a page image is: format (from its bytes), pixel size, resolution from its own metadata,
//!   colour mode and how much ink it carries (near-blank pages). Hostile files are refused, never decoded
//!   without limits.
//! * the intake checks as data are the model's (`model/intake_rules.rs`, `intake_rules.toml`): each rule has an id, a level (an error blocks
//!   filing the page, a warning travels with it) and a bilingual message.
//! * [`pdf`] — one PDF assembled from a material's pages (JPEGs embedded byte for byte, PNG and TIFF
//!   losslessly), and the original JPEG of a page read back out of it.

pub mod image;
pub mod pdf;

pub use crate::model::intake_rules::{IntakeRules, Level, PageContext, PageFinding, blocking};
pub use image::{ColourMode, PageFormat, PageInfo, inspect};

/// Why a page image (or a PDF assembled from page images) cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// The bytes are not a JPEG, PNG or TIFF image.
    #[error("not a page image: only JPEG, PNG and TIFF are accepted")]
    NotAnImage,
    /// The image is larger than a page image may be (a decompression bomb, or a scan far beyond any page).
    #[error("the image is too large: {0}")]
    TooLarge(String),
    /// The image is truncated or damaged.
    #[error("the image cannot be read: {0}")]
    Unreadable(String),
    /// The image is valid but of a kind this toolkit does not handle (a 12-bit or arithmetic-coded JPEG …).
    #[error("the image is not supported: {0}")]
    Unsupported(String),
    /// A PDF could not be written or read.
    #[error("PDF: {0}")]
    Pdf(String),
}
