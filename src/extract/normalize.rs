//! The one normaliser all extracted text goes through: what the index and the snippets see is clean, bounded
//! text whatever the parser produced.

/// What to do with whitespace between two CJK characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cjk {
    /// Keep it: the author's own spacing (text files, DOCX paragraphs and table cells).
    Keep,
    /// Remove it unless it is a paragraph break (a blank line): PDF text comes out glyph by glyph, and
    /// pdf-extract puts spaces or line breaks between CJK glyphs that were never in the document, which would
    /// split words for the search index (`干 部` instead of `干部`).
    Join,
}

/// Normalises extracted text: line ends unified to `\n` (form feeds and Unicode line separators become line
/// breaks), control characters other than `\n` and `\t` and byte order marks removed, trailing whitespace of
/// lines trimmed, leading/trailing blank lines dropped and runs of blank lines collapsed to one, CJK joined
/// as asked, and the result capped at `max_chars` characters.
pub(super) fn normalize(raw: &str, cjk: Cjk, max_chars: usize) -> String {
    // Joining only shrinks the text, so a clean prefix of twice the cap is enough to fill it.
    let clean = clean_lines(raw, max_chars.saturating_mul(2).saturating_add(1));
    let joined = match cjk {
        Cjk::Keep => clean,
        Cjk::Join => join_cjk(&clean),
    };
    cap(joined, max_chars)
}

/// The separator put between two pages' texts: a paragraph break, which normalising keeps as it is (so the
/// joined text is itself normalised, and CJK is never joined across pages).
pub(super) const PAGE_BREAK: &str = "\n\n";

/// Normalises each page on its own and joins the pages with [`PAGE_BREAK`]: the text, and where each page starts
/// in it (character offsets, one per page, non-decreasing; a page left empty starts where the text of the next
/// page would, or at the end). The whole is capped at `max_chars` characters; pages past the cap start at the end.
pub(super) fn normalize_pages(pages: &[String], cjk: Cjk, max_chars: usize) -> (String, Vec<u32>) {
    let offset = |chars: usize| u32::try_from(chars).unwrap_or(u32::MAX);
    let mut text = String::new();
    let mut chars = 0;
    let mut starts = Vec::with_capacity(pages.len());
    // Empty pages seen since the last page with text: they start where the next text does.
    let mut empty = 0;
    let break_chars = PAGE_BREAK.chars().count();
    for page in pages {
        let separator = if text.is_empty() { 0 } else { break_chars };
        let budget = max_chars.saturating_sub(chars + separator);
        let part = if budget == 0 { String::new() } else { normalize(page, cjk, budget) };
        if part.is_empty() {
            empty += 1;
            continue;
        }
        if separator > 0 {
            text.push_str(PAGE_BREAK);
            chars += separator;
        }
        starts.extend(std::iter::repeat_n(offset(chars), empty + 1));
        empty = 0;
        chars += part.chars().count();
        text.push_str(&part);
    }
    starts.extend(std::iter::repeat_n(offset(chars), empty));
    (text, starts)
}

/// Unifies line ends, removes control characters and collapses blank lines; stops after about `budget`
/// characters so a huge input costs no more memory than the cap needs.
fn clean_lines(raw: &str, budget: usize) -> String {
    let mut out = Lines::default();
    let mut iter = raw.chars().peekable();
    while let Some(c) = iter.next() {
        if out.chars > budget {
            break;
        }
        match c {
            '\r' => {
                if iter.peek() == Some(&'\n') {
                    iter.next();
                }
                out.end_line();
            }
            '\n' | '\u{0b}' | '\u{0c}' | '\u{85}' | '\u{2028}' | '\u{2029}' => out.end_line(),
            '\t' => out.push('\t'),
            '\u{feff}' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.end_line();
    out.text
}

/// The output of [`clean_lines`], built line by line.
#[derive(Default)]
struct Lines {
    text: String,
    /// The line being built (not yet in `text`).
    line: String,
    /// Characters in `text` plus characters in `line`.
    chars: usize,
    /// Characters in `line`.
    line_chars: usize,
    /// A blank line was seen since the last line of text.
    pending_blank: bool,
}

impl Lines {
    fn push(&mut self, c: char) {
        self.line.push(c);
        self.line_chars += 1;
        self.chars += 1;
    }

    fn end_line(&mut self) {
        self.chars -= self.line_chars;
        self.line_chars = 0;
        let kept = self.line.trim_end();
        if kept.trim_start().is_empty() {
            // Blank lines before the first line of text are dropped.
            self.pending_blank = !self.text.is_empty();
        } else {
            if !self.text.is_empty() {
                self.text.push('\n');
                if self.pending_blank {
                    self.text.push('\n');
                }
            }
            self.pending_blank = false;
            self.text.push_str(kept);
            self.chars += 2 + kept.chars().count();
        }
        self.line.clear();
    }
}

/// Han ideographs, CJK radicals and strokes, CJK symbols and punctuation (except the ideographic space, which
/// is whitespace), enclosed CJK, compatibility ideographs, halfwidth and fullwidth forms.
pub(super) fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{2e80}'..='\u{2fdf}'      // radicals supplement, Kangxi radicals
        | '\u{3001}'..='\u{303f}'    // CJK symbols and punctuation (U+3000 is the ideographic space)
        | '\u{31c0}'..='\u{31ef}'    // strokes
        | '\u{3200}'..='\u{33ff}'    // enclosed CJK letters, CJK compatibility
        | '\u{3400}'..='\u{4dbf}'    // extension A
        | '\u{4e00}'..='\u{9fff}'    // unified ideographs
        | '\u{f900}'..='\u{faff}'    // compatibility ideographs
        | '\u{fe30}'..='\u{fe4f}'    // compatibility forms (vertical punctuation)
        | '\u{ff00}'..='\u{ffef}'    // halfwidth and fullwidth forms
        | '\u{20000}'..='\u{3134f}'  // extensions B–G, compatibility supplement
    )
}

/// Removes whitespace that pdf-extract put between CJK glyphs, keeping the whitespace that separates words:
///
/// * a line break between two CJK characters is a wrapped line: removed (CJK text has no spaces to restore);
/// * spaces between two CJK characters are removed only when both stand alone (`档 案 管 理`, justified or
///   letter-spaced text, `简　历` in forms); spaces between CJK words (`姓名 张伟明`, table cells) are kept;
/// * a paragraph break (two or more line breaks) and any whitespace next to Latin text, digits or other
///   scripts are kept, so lines of Latin text stay apart.
fn join_cjk(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    // The last two characters of the input before `run` (not of the output, which loses whitespace).
    let mut before: Option<char> = None;
    let mut before_that: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            run.push(c);
            continue;
        }
        if !run.is_empty() {
            let line_breaks = run.matches('\n').count();
            let between_cjk = before.is_some_and(is_cjk) && is_cjk(c);
            let lone_before = before_that.is_none_or(char::is_whitespace);
            let lone_after = chars.peek().is_none_or(|next| next.is_whitespace());
            let join = between_cjk && (line_breaks == 1 || (line_breaks == 0 && lone_before && lone_after));
            if !join {
                out.push_str(&run);
            }
            before_that = run.chars().last();
            run.clear();
        } else {
            before_that = before;
        }
        out.push(c);
        before = Some(c);
    }
    out.push_str(&run);
    out
}

/// Cuts the text to at most `max_chars` characters (on a character boundary) and trims the cut end.
fn cap(mut text: String, max_chars: usize) -> String {
    if let Some((cut, _)) = text.char_indices().nth(max_chars) {
        text.truncate(cut);
        let kept = text.trim_end().len();
        text.truncate(kept);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_controls_and_collapses_blank_lines() {
        let raw = "\u{feff}  标题\r\n\r\n\r\n\0第一\u{7}行\t制表 \r第二行\u{c}第三行\n \n\t\n\n";
        assert_eq!(normalize(raw, Cjk::Keep, 1000), "  标题\n\n第一行\t制表\n第二行\n第三行");
    }

    #[test]
    fn joins_cjk_glyphs_but_keeps_latin_lines_and_paragraphs() {
        let raw = "干 部 人 事\n档 案 管 理\nCurriculum vitae\nof Zhang San\n\n\n简　历 2019 年";
        assert_eq!(normalize(raw, Cjk::Join, 1000), "干部人事档案管理\nCurriculum vitae\nof Zhang San\n\n简历 2019 年");
        // Spaces between CJK words stay; wrapped lines are joined (fullwidth punctuation counts as CJK);
        // a paragraph break between CJK stays.
        assert_eq!(
            normalize("姓名 张伟明 性别 男\n单位：人力资源部　　填表日期\n中共党\n员。\n\n简历", Cjk::Join, 1000),
            "姓名 张伟明 性别 男单位：人力资源部　　填表日期中共党员。\n\n简历"
        );
        // Without joining, the same text keeps its spaces.
        assert_eq!(normalize("干 部", Cjk::Keep, 1000), "干 部");
    }

    #[test]
    fn page_starts_point_at_each_page_s_normalised_text() {
        let pages: Vec<String> =
            ["\u{feff}  干 部\r\n\r\n\r\n档 案\n", " \n\t\n", "第三页\u{7}文字 \n管\n理\n", "\n\nlast page\n"]
                .map(str::to_owned)
                .into();
        let (text, starts) = normalize_pages(&pages, Cjk::Join, 1000);
        assert_eq!(text, "  干部\n\n档案\n\n第三页文字管理\n\nlast page");
        // The blank second page starts where the third does.
        assert_eq!(starts, [0, 10, 10, 19]);
        let chars: Vec<char> = text.chars().collect();
        let from = |at: u32| chars[at as usize..].iter().collect::<String>();
        assert!(from(starts[2]).starts_with("第三页"));
        assert!(from(starts[3]).starts_with("last page"));
        // Each page's text is what normalising the page alone gives, and the whole is already normalised.
        for (i, page) in pages.iter().enumerate() {
            let alone = normalize(page, Cjk::Join, 1000);
            assert!(from(starts[i]).starts_with(&alone), "page {}", i + 1);
        }
        assert_eq!(normalize(&text, Cjk::Join, 1000), text);
        // The cap counts the page breaks; pages past it start at the end.
        let (capped, starts) = normalize_pages(&pages, Cjk::Join, 12);
        assert_eq!(capped, "  干部\n\n档案\n\n第三");
        assert_eq!(starts, [0, 10, 10, 12]);
        assert_eq!(normalize_pages(&[], Cjk::Keep, 10), (String::new(), vec![]));
    }

    #[test]
    fn caps_on_a_character_boundary() {
        assert_eq!(normalize("档案管理系统", Cjk::Keep, 4), "档案管理");
        assert_eq!(normalize("ab  cd", Cjk::Keep, 3), "ab");
        assert_eq!(normalize("", Cjk::Join, 3), "");
        assert_eq!(normalize("abc", Cjk::Keep, 0), "");
    }
}
