//! Intake checks on page images as data: the shipped rules are `intake_rules.toml` (its header documents every
//! kind, parameter and placeholder). A rule's level decides what a finding does: an [`Level::Error`] blocks
//! filing the page ([`blocking`]), a [`Level::Warning`] travels with it.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The file format of a page image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PageFormat {
    /// JPEG (JFIF or EXIF).
    Jpeg,
    /// PNG.
    Png,
    /// TIFF (baseline, with LZW, Deflate, PackBits or CCITT fax compression).
    Tiff,
}

impl PageFormat {
    /// Its lower-case name, as in the rules file (`jpeg`, `png`, `tiff`).
    pub fn as_str(self) -> &'static str {
        match self {
            PageFormat::Jpeg => "jpeg",
            PageFormat::Png => "png",
            PageFormat::Tiff => "tiff",
        }
    }

    /// The file name extension its originals are given back under (`0001.jpg`, `0002.tif` …).
    pub fn extension(self) -> &'static str {
        match self {
            PageFormat::Jpeg => "jpg",
            PageFormat::Png => "png",
            PageFormat::Tiff => "tif",
        }
    }

    /// Its media type.
    pub fn media_type(self) -> &'static str {
        match self {
            PageFormat::Jpeg => "image/jpeg",
            PageFormat::Png => "image/png",
            PageFormat::Tiff => "image/tiff",
        }
    }
}

/// The colour mode of a page image, as its pixels hold it: a JPEG by its components (one: grey; three or four:
/// colour); a PNG or TIFF by its pixels (only black and white: bilevel; every pixel grey: grey; else colour),
/// so an RGB file of a black-and-white page reads as bilevel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ColourMode {
    /// Black and white only (黑白二值).
    Bilevel,
    /// Shades of grey (灰度).
    Grey,
    /// Colour (彩色).
    Colour,
}

impl ColourMode {
    /// Its lower-case name, as in the rules file (`bilevel`, `grey`, `colour`).
    pub fn as_str(self) -> &'static str {
        match self {
            ColourMode::Bilevel => "bilevel",
            ColourMode::Grey => "grey",
            ColourMode::Colour => "colour",
        }
    }
}

/// What `digitise::image::inspect` found out about a page image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PageInfo {
    /// The file format, from the bytes.
    pub format: PageFormat,
    /// Width in pixels (as stored, before any EXIF orientation).
    pub width: u32,
    /// Height in pixels (as stored).
    pub height: u32,
    /// Horizontal and vertical resolution in dots per inch, from the file's metadata; absent when the file
    /// does not say (or says only an aspect ratio).
    #[schema(value_type = Option<Vec<u32>>, example = json!([300, 300]))]
    pub dpi: Option<(u32, u32)>,
    /// The colour mode.
    pub colour: ColourMode,
    /// Share of the page (without a thin border) covered by ink, 0 to 1: clearly darker than the paper, in
    /// marks larger than a single speck. A blank page reads near 0, a page of text a few hundredths.
    pub ink: f32,
}

/// The shipped intake rules.
pub const DEFAULT_RULES: &str = include_str!("intake_rules.toml");

/// What a finding does to the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The page cannot be filed.
    Error,
    /// The page is filed; the finding travels with it.
    Warning,
}

/// One rule's verdict on a page (or on a material's page count).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PageFinding {
    /// The rule's id (`resolution.min` …).
    pub rule: String,
    /// Its level.
    pub level: Level,
    /// The rule's message, its placeholders filled in (Chinese, then English).
    pub message: String,
}

/// What is known about a page beyond its image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageContext {
    /// The page already held with the same content hash, as the message should name it (`第3页`, or a
    /// material's title); `None` when there is none.
    pub duplicate_of: Option<String>,
    /// The page's rotation in degrees as orientation detection found it (0 when upright); `None` when it was
    /// not checked.
    pub rotation: Option<u16>,
}

/// What a rule checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Format,
    Resolution,
    ResolutionUnknown,
    Colour,
    Blank,
    Orientation,
    Duplicate,
    PageCount,
}

impl Kind {
    /// The placeholders its message may use.
    fn placeholders(self) -> &'static [&'static str] {
        match self {
            Kind::Format => &["format", "allowed"],
            Kind::Resolution => &["dpi", "min_dpi"],
            Kind::ResolutionUnknown => &["width", "height"],
            Kind::Colour => &["colour"],
            Kind::Blank => &["ink"],
            Kind::Orientation => &["rotation"],
            Kind::Duplicate => &["duplicate_of"],
            Kind::PageCount => &["recorded", "held"],
        }
    }

    /// The parameter it needs, if any.
    fn parameter(self) -> Option<&'static str> {
        match self {
            Kind::Format => Some("allowed"),
            Kind::Resolution => Some("min_dpi"),
            Kind::Colour => Some("modes"),
            Kind::Blank => Some("max_ink"),
            _ => None,
        }
    }
}

/// One rule as written in the file.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    id: String,
    kind: Kind,
    level: Level,
    message: String,
    #[serde(default)]
    allowed: Option<Vec<PageFormat>>,
    #[serde(default)]
    min_dpi: Option<u32>,
    #[serde(default)]
    modes: Option<Vec<ColourMode>>,
    #[serde(default)]
    max_ink: Option<f32>,
}

impl Rule {
    /// The parameters given, by name.
    fn parameters(&self) -> Vec<&'static str> {
        let mut given = Vec::new();
        if self.allowed.is_some() {
            given.push("allowed");
        }
        if self.min_dpi.is_some() {
            given.push("min_dpi");
        }
        if self.modes.is_some() {
            given.push("modes");
        }
        if self.max_ink.is_some() {
            given.push("max_ink");
        }
        given
    }

    fn finding(&self, values: &[(&str, String)]) -> PageFinding {
        let mut message = self.message.clone();
        for (name, value) in values {
            message = message.replace(&format!("{{{name}}}"), value);
        }
        PageFinding { rule: self.id.clone(), level: self.level, message }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rule: Vec<Rule>,
}

/// The intake rules, checked: unique ids, each rule with exactly the parameter its kind needs and a message
/// that uses only its kind's placeholders.
#[derive(Clone, Debug, PartialEq)]
pub struct IntakeRules {
    rules: Vec<Rule>,
}

impl Default for IntakeRules {
    /// The shipped rules ([`DEFAULT_RULES`]).
    fn default() -> Self {
        IntakeRules::from_toml(DEFAULT_RULES).expect("the shipped intake rules are valid")
    }
}

impl IntakeRules {
    /// Parses and checks a rules file. Refuses an unknown kind or level, an unknown field, two rules with the
    /// same id, a missing or foreign parameter, a parameter out of range and a message placeholder the kind does
    /// not fill, each with a message naming the rule.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: RulesFile = toml::from_str(text).map_err(|e| format!("intake rules: {e}"))?;
        let mut ids = HashSet::new();
        for rule in &file.rule {
            let id = rule.id.trim();
            if id.is_empty() {
                return Err("intake rules: a rule has an empty id".into());
            }
            if !ids.insert(id) {
                return Err(format!("intake rules: two rules are called {id}"));
            }
            let wanted: Vec<&str> = rule.kind.parameter().into_iter().collect();
            let given = rule.parameters();
            if given != wanted {
                return Err(match rule.kind.parameter() {
                    Some(p) => format!("intake rule {id}: this kind takes one parameter, {p}"),
                    None => format!("intake rule {id}: this kind takes no parameter (found {})", given.join(", ")),
                });
            }
            if rule.allowed.as_ref().is_some_and(Vec::is_empty) || rule.modes.as_ref().is_some_and(Vec::is_empty) {
                return Err(format!("intake rule {id}: the list is empty"));
            }
            if rule.min_dpi == Some(0) {
                return Err(format!("intake rule {id}: min_dpi must be above 0"));
            }
            if rule.max_ink.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
                return Err(format!("intake rule {id}: max_ink is a share between 0 and 1"));
            }
            if rule.message.trim().is_empty() {
                return Err(format!("intake rule {id}: the message is empty"));
            }
            check_placeholders(&rule.message, rule.kind.placeholders())
                .map_err(|e| format!("intake rule {id}: {e}"))?;
        }
        Ok(IntakeRules { rules: file.rule })
    }

    /// The ids of the rules, in file order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.id.as_str())
    }

    /// Checks one page image: every rule that fires, in file order (the page count is checked per material, by
    /// [`IntakeRules::check_page_count`]).
    pub fn check_page(&self, info: &PageInfo, ctx: &PageContext) -> Vec<PageFinding> {
        let mut findings = Vec::new();
        for rule in &self.rules {
            let finding = match rule.kind {
                Kind::Format => {
                    let allowed = rule.allowed.as_deref().unwrap_or_default();
                    (!allowed.contains(&info.format)).then(|| {
                        let names: Vec<&str> = allowed.iter().map(|f| f.as_str()).collect();
                        rule.finding(&[("format", info.format.as_str().into()), ("allowed", names.join(", "))])
                    })
                }
                Kind::Resolution => {
                    let min = rule.min_dpi.unwrap_or(0);
                    info.dpi
                        .map(|(x, y)| x.min(y))
                        .filter(|&dpi| dpi < min)
                        .map(|dpi| rule.finding(&[("dpi", dpi.to_string()), ("min_dpi", min.to_string())]))
                }
                Kind::ResolutionUnknown => info
                    .dpi
                    .is_none()
                    .then(|| rule.finding(&[("width", info.width.to_string()), ("height", info.height.to_string())])),
                Kind::Colour => rule
                    .modes
                    .as_deref()
                    .unwrap_or_default()
                    .contains(&info.colour)
                    .then(|| rule.finding(&[("colour", info.colour.as_str().into())])),
                Kind::Blank => (info.ink < rule.max_ink.unwrap_or(0.0))
                    .then(|| rule.finding(&[("ink", format!("{:.2}%", info.ink * 100.0))])),
                Kind::Orientation => {
                    ctx.rotation.filter(|&r| r % 360 != 0).map(|r| rule.finding(&[("rotation", (r % 360).to_string())]))
                }
                Kind::Duplicate => ctx.duplicate_of.as_ref().map(|d| rule.finding(&[("duplicate_of", d.clone())])),
                Kind::PageCount => None,
            };
            findings.extend(finding);
        }
        findings
    }

    /// Checks a material's recorded page count (页数) against the page images it holds: the first page-count
    /// rule's finding when they differ. Nothing when no count is recorded.
    pub fn check_page_count(&self, recorded: Option<u32>, held: u32) -> Option<PageFinding> {
        let recorded = recorded.filter(|&r| r != held)?;
        let rule = self.rules.iter().find(|r| r.kind == Kind::PageCount)?;
        Some(rule.finding(&[("recorded", recorded.to_string()), ("held", held.to_string())]))
    }
}

/// The first finding that blocks filing (an error), if any.
pub fn blocking(findings: &[PageFinding]) -> Option<&PageFinding> {
    findings.iter().find(|f| f.level == Level::Error)
}

/// Checks that every `{name}` in a message is one of `allowed`, and that braces are closed.
fn check_placeholders(message: &str, allowed: &[&str]) -> Result<(), String> {
    let mut rest = message;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("the message has a { without its }")?;
        let name = &after[..close];
        if !allowed.contains(&name) {
            return Err(format!("the message uses {{{name}}}; this kind fills in {}", allowed.join(", ")));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(dpi: Option<(u32, u32)>, colour: ColourMode, ink: f32) -> PageInfo {
        PageInfo { format: PageFormat::Jpeg, width: 2480, height: 3508, dpi, colour, ink }
    }

    fn ids(findings: &[PageFinding]) -> Vec<&str> {
        findings.iter().map(|f| f.rule.as_str()).collect()
    }

    #[test]
    fn the_shipped_rules_parse() {
        let rules = IntakeRules::default();
        assert_eq!(
            rules.ids().collect::<Vec<_>>(),
            [
                "format",
                "resolution.min",
                "resolution.recommended",
                "resolution.unknown",
                "colour.bilevel",
                "blank",
                "orientation",
                "duplicate",
                "page_count"
            ]
        );
    }

    #[test]
    fn a_good_page_passes() {
        let rules = IntakeRules::default();
        let findings = rules.check_page(&page(Some((300, 300)), ColourMode::Grey, 0.05), &PageContext::default());
        assert!(findings.is_empty(), "{findings:?}");
        let upright = PageContext { rotation: Some(0), duplicate_of: None };
        assert!(rules.check_page(&page(Some((200, 200)), ColourMode::Colour, 0.05), &upright).is_empty());
    }

    #[test]
    fn a_72_dpi_page_is_an_error_and_blocks() {
        let rules = IntakeRules::default();
        let findings = rules.check_page(&page(Some((72, 72)), ColourMode::Grey, 0.05), &PageContext::default());
        // Below 150 dpi refused; below the 200 the rules ask for, a warning too.
        assert_eq!(ids(&findings), ["resolution.min", "resolution.recommended"]);
        let error = blocking(&findings).unwrap();
        assert_eq!((error.rule.as_str(), error.level), ("resolution.min", Level::Error));
        assert!(error.message.contains("72 dpi") && error.message.contains("150 dpi"), "{}", error.message);
        assert!(error.message.contains("分辨率"), "{}", error.message);
        // The smaller of the two resolutions counts: 150 passes the minimum, not the recommendation.
        let mixed = rules.check_page(&page(Some((300, 150)), ColourMode::Grey, 0.05), &PageContext::default());
        assert_eq!(ids(&mixed), ["resolution.recommended"]);
        assert!(blocking(&mixed).is_none());
        let low = rules.check_page(&page(Some((300, 149)), ColourMode::Grey, 0.05), &PageContext::default());
        assert_eq!(ids(&low), ["resolution.min", "resolution.recommended"]);
    }

    #[test]
    fn warnings_travel_and_do_not_block() {
        let rules = IntakeRules::default();
        let ctx = PageContext { duplicate_of: Some("第3页".into()), rotation: Some(180) };
        let findings = rules.check_page(&page(None, ColourMode::Bilevel, 0.0004), &ctx);
        assert_eq!(ids(&findings), ["resolution.unknown", "colour.bilevel", "blank", "orientation", "duplicate"]);
        assert!(findings.iter().all(|f| f.level == Level::Warning));
        assert_eq!(blocking(&findings), None);
        let text = |id: &str| findings.iter().find(|f| f.rule == id).unwrap().message.clone();
        assert!(text("duplicate").contains("与第3页的图像完全相同"), "{}", text("duplicate"));
        assert!(text("orientation").contains("180"), "{}", text("orientation"));
        assert!(text("blank").contains("0.04%"), "{}", text("blank"));
        assert!(text("resolution.unknown").contains("2480×3508"), "{}", text("resolution.unknown"));
        assert!(!findings.iter().any(|f| f.message.contains('{')), "{findings:?}");
    }

    #[test]
    fn page_count_against_pages_held() {
        let rules = IntakeRules::default();
        assert_eq!(rules.check_page_count(Some(12), 12), None);
        assert_eq!(rules.check_page_count(None, 12), None);
        let finding = rules.check_page_count(Some(12), 11).unwrap();
        assert_eq!((finding.rule.as_str(), finding.level), ("page_count", Level::Warning));
        assert!(finding.message.contains("12") && finding.message.contains("11"), "{}", finding.message);
    }

    #[test]
    fn a_narrower_format_list_and_a_second_resolution_rule() {
        let rules = IntakeRules::from_toml(
            r#"
            [[rule]]
            id = "format.tiff"
            kind = "format"
            level = "error"
            allowed = ["tiff"]
            message = "{format} ≠ {allowed}"
            [[rule]]
            id = "resolution.small-print"
            kind = "resolution"
            level = "warning"
            min_dpi = 300
            message = "{dpi} < {min_dpi}"
            "#,
        )
        .unwrap();
        let findings = rules.check_page(&page(Some((240, 240)), ColourMode::Grey, 0.05), &PageContext::default());
        assert_eq!(ids(&findings), ["format.tiff", "resolution.small-print"]);
        assert_eq!(findings[0].message, "jpeg ≠ tiff");
        assert_eq!(findings[1].message, "240 < 300");
        assert_eq!(blocking(&findings).unwrap().rule, "format.tiff");
        // No page-count rule: no page-count finding.
        assert_eq!(rules.check_page_count(Some(3), 2), None);
    }

    #[test]
    fn bad_rule_files_are_refused_with_a_reason() {
        let rule = |body: &str| format!("[[rule]]\nid = \"r\"\nmessage = \"m\"\n{body}\n");
        let err = |text: &str| IntakeRules::from_toml(text).unwrap_err();
        let e = err(&rule("kind = \"sharpness\"\nlevel = \"error\""));
        assert!(e.contains("unknown variant") && e.contains("sharpness"), "{e}");
        let e = err(&rule("kind = \"blank\"\nlevel = \"fatal\"\nmax_ink = 0.01"));
        assert!(e.contains("unknown variant") && e.contains("fatal"), "{e}");
        let e = err(&format!(
            "{}{}",
            rule("kind = \"duplicate\"\nlevel = \"warning\""),
            rule("kind = \"duplicate\"\nlevel = \"error\"")
        ));
        assert!(e.contains("two rules are called r"), "{e}");
        let e = err(&rule("kind = \"resolution\"\nlevel = \"error\""));
        assert!(e.contains("takes one parameter, min_dpi"), "{e}");
        let e = err(&rule("kind = \"duplicate\"\nlevel = \"error\"\nmin_dpi = 3"));
        assert!(e.contains("takes no parameter"), "{e}");
        let e = err(&rule("kind = \"blank\"\nlevel = \"warning\"\nmax_ink = 5.0"));
        assert!(e.contains("between 0 and 1"), "{e}");
        let e = err(&rule("kind = \"colour\"\nlevel = \"warning\"\nmodes = [\"sepia\"]"));
        assert!(e.contains("sepia"), "{e}");
        let e = err(&rule("kind = \"format\"\nlevel = \"warning\"\nallowed = []"));
        assert!(e.contains("empty"), "{e}");
        let e = err(&rule("kind = \"blank\"\nlevel = \"warning\"\nmax_ink = 0.01\ncolour = 1"));
        assert!(e.contains("unknown field"), "{e}");
        let e = err("[[rule]]\nid = \"r\"\nkind = \"duplicate\"\nlevel = \"warning\"\nmessage = \"same as {dpi}\"");
        assert!(e.contains("{dpi}") && e.contains("duplicate_of"), "{e}");
        let e =
            err("[[rule]]\nid = \"r\"\nkind = \"duplicate\"\nlevel = \"warning\"\nmessage = \"same as {duplicate_of\"");
        assert!(e.contains("without its }"), "{e}");
        let e = err("[[rule]]\nid = \" \"\nkind = \"duplicate\"\nlevel = \"warning\"\nmessage = \"x\"");
        assert!(e.contains("empty id"), "{e}");
    }
}
