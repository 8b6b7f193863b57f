//! PLACEHOLDER until the page toolkit lands: the types only.
use serde::{Deserialize, Serialize};

/// Image format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PageFormat {
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// TIFF.
    Tiff,
}

/// Colour mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ColourMode {
    /// 1-bit.
    Bilevel,
    /// Grey.
    Grey,
    /// Colour.
    Colour,
}

/// What intake read of an image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PageInfo {
    /// Format.
    pub format: PageFormat,
    /// Width px.
    pub width: u32,
    /// Height px.
    pub height: u32,
    /// dpi.
    pub dpi: Option<(u32, u32)>,
    /// Colour.
    pub colour: ColourMode,
    /// Ink.
    pub ink: f32,
}

/// Level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Error.
    Error,
    /// Warning.
    Warning,
}

/// A finding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PageFinding {
    /// Rule id.
    pub rule: String,
    /// Level.
    pub level: Level,
    /// Message.
    pub message: String,
}

/// Rules.
#[derive(Clone, Debug, Default)]
pub struct IntakeRules;

/// Context.
#[derive(Clone, Debug, Default)]
pub struct PageContext {
    /// Dup.
    pub duplicate_of: Option<String>,
    /// Rotation.
    pub rotation: Option<u16>,
}

impl IntakeRules {
    /// Check.
    pub fn check_page(&self, _info: &PageInfo, _ctx: &PageContext) -> Vec<PageFinding> {
        Vec::new()
    }
}

/// First error.
pub fn blocking(findings: &[PageFinding]) -> Option<&PageFinding> {
    findings.iter().find(|f| f.level == Level::Error)
}
