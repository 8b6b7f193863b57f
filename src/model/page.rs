//! Digitisation (docs/DOMAIN.md §2d): the page images of a scanned material, and the quality control of a
//! scanning batch — the operator's 自检, the archive's 抽检 of a random sample, 验收 or 退回 with defects coded per
//! page, and the rescans a return sends back to the operator.
//!
//! A material filed from page images keeps one [`PageImage`] per page, in order; its content (what download,
//! view, OCR and packages see) is one PDF assembled from them. A JPEG page's exact bytes are that PDF's image of
//! the page, so they are not stored twice; a PNG or TIFF page (embedded losslessly, but not byte for byte) keeps
//! its original as a blob of its own.

use super::ids::MaterialId;
use serde::{Deserialize, Serialize};

pub use super::intake_rules::{ColourMode, IntakeRules, PageContext, PageFinding, PageFormat, PageInfo, blocking};

/// One page image of a material.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PageImage {
    /// Plain hash of the original image (hex; BLAKE3, or SM3 on the 国密 suite).
    pub content_hash: String,
    /// Size of the original in bytes.
    pub size: u64,
    /// The uploaded file's name, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// What intake read of the image.
    pub info: PageInfo,
    /// What intake found (warnings: an error refuses the page).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<PageFinding>,
    /// Keyed address of the original when it is kept as a blob of its own (PNG, TIFF); absent for a JPEG, whose
    /// exact bytes are the material's PDF's image of this page. Never leaves the archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub address: Option<String>,
}

/// Where a scanning batch stands: 扫描中 → 自检 → 抽检 → 验收, or 退回 (rescans) → 抽检 again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    /// 扫描中: operators file scans.
    #[default]
    Scanning,
    /// 自检: the operators check their own work before handing it over.
    SelfCheck,
    /// 抽检: a random sample waits for the archive's reviewer.
    Sampling,
    /// 退回: sent back with defects; the operators rescan.
    Returned,
    /// 验收: accepted; closed for filing.
    Accepted,
}

impl BatchState {
    /// The Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            BatchState::Scanning => "扫描中",
            BatchState::SelfCheck => "自检",
            BatchState::Sampling => "抽检",
            BatchState::Returned => "退回",
            BatchState::Accepted => "验收",
        }
    }
}

/// A defect found in quality control, by its code (DA/T 31's usual list).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DefectCode {
    /// 模糊: blurred or illegible.
    Blur,
    /// 倾斜: skewed.
    Skew,
    /// 缺页: a page missing.
    MissingPage,
    /// 重页: a page scanned twice.
    DuplicatePage,
    /// 错页: pages out of order, or a page of another material.
    WrongOrder,
    /// 黑边: black borders left.
    BlackBorder,
    /// 其他.
    Other,
}

impl DefectCode {
    /// Every code.
    pub const ALL: [DefectCode; 7] = [
        DefectCode::Blur,
        DefectCode::Skew,
        DefectCode::MissingPage,
        DefectCode::DuplicatePage,
        DefectCode::WrongOrder,
        DefectCode::BlackBorder,
        DefectCode::Other,
    ];

    /// The Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            DefectCode::Blur => "模糊",
            DefectCode::Skew => "倾斜",
            DefectCode::MissingPage => "缺页",
            DefectCode::DuplicatePage => "重页",
            DefectCode::WrongOrder => "错页",
            DefectCode::BlackBorder => "黑边",
            DefectCode::Other => "其他",
        }
    }

    /// The code of this API name.
    pub fn parse(s: &str) -> Option<DefectCode> {
        DefectCode::ALL
            .into_iter()
            .find(|c| serde_json::to_value(c).ok().and_then(|v| v.as_str().map(|v| v == s)) == Some(true))
    }
}

/// A page of a material, 1-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PageRef {
    /// The material.
    #[schema(schema_with = super::uuid_schema)]
    pub material_id: MaterialId,
    /// The page, from 1.
    pub page: u32,
}

/// A defect recorded by the reviewer on a sampled page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Defect {
    /// Where.
    #[serde(flatten)]
    pub at: PageRef,
    /// What.
    pub code: DefectCode,
    /// The reviewer's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Who recorded it.
    pub by: String,
    /// When (Unix seconds).
    pub on: i64,
}

/// How a round of 抽检 ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QcDecision {
    /// 验收.
    Accept,
    /// 退回.
    Return,
}

/// One round of 抽检: the sample drawn when the batch was handed over, the defects found, the decision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QcRound {
    /// From 1.
    pub number: u32,
    /// Who handed the batch over (an operator), and when.
    pub submitted_by: String,
    /// When (Unix seconds).
    pub submitted_at: i64,
    /// Pages held when it was handed over.
    pub pages_held: u32,
    /// The pages drawn at random for review (and every page rescanned since the last round): shown to reviewers
    /// only, never to the batch's operators.
    pub sample: Vec<PageRef>,
    /// Defects recorded.
    pub defects: Vec<Defect>,
    /// The reviewer who decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewer: Option<String>,
    /// The decision, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<QcDecision>,
    /// When (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<i64>,
    /// The reviewer's words on the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A page sent back for rescanning by a return.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rescan {
    /// The defect that sent it back.
    #[serde(flatten)]
    pub defect: Defect,
    /// The round that returned it.
    pub round: u32,
    /// The operator who filed the material (whose task it is).
    pub operator: String,
    /// When it was rescanned (Unix seconds), and by whom.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<i64>,
    /// Who rescanned it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_by: Option<String>,
}

/// How many pages a sample takes: `percent` of those held (rounded up), at least `min`, at most all.
pub fn sample_size(held: u32, percent: u8, min: u32) -> u32 {
    let by_rate = (u64::from(held) * u64::from(percent)).div_ceil(100) as u32;
    by_rate.max(min).min(held)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_takes_its_share_rounded_up_at_least_the_minimum_and_never_more_than_held() {
        assert_eq!(sample_size(100, 10, 5), 10);
        assert_eq!(sample_size(101, 10, 5), 11);
        assert_eq!(sample_size(20, 10, 5), 5);
        assert_eq!(sample_size(3, 10, 5), 3);
        assert_eq!(sample_size(0, 10, 5), 0);
        assert_eq!(sample_size(50, 100, 1), 50);
    }

    #[test]
    fn defect_codes_read_back_by_their_api_names() {
        for c in DefectCode::ALL {
            let name = serde_json::to_value(c).unwrap();
            assert_eq!(DefectCode::parse(name.as_str().unwrap()), Some(c));
        }
        assert_eq!(DefectCode::parse("missing_page"), Some(DefectCode::MissingPage));
        assert_eq!(DefectCode::parse("模糊"), None);
    }
}
