//! The Chinese analyzer. Text is first *folded* — traditional characters to simplified (fast2s, character by
//! character), full-width Latin and digits to ASCII, upper to lower case — so that 晉升 and 晋升, ＡＢＣ and abc
//! meet in one term. Then:
//!
//! * [`ZhTokenizer`] cuts words with jieba (precise mode: non-overlapping, monotonic offsets, which Tantivy's
//!   snippet generator needs); Latin words are stemmed by the filter chain in [`super`].
//! * [`NgramTokenizer`] emits CJK unigrams and bigrams (recall for words jieba cuts differently) and Latin words.
//!
//! Offsets always point into the *original* text, so snippets highlight what the user wrote.

use jieba_rs::Jieba;
use std::sync::Arc;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Text folded for matching, with each folded char's byte range in the original.
pub struct Folded {
    /// The folded text.
    pub text: String,
    /// For each char of `text`: (start, end) byte offsets in the original.
    pub spans: Vec<(usize, usize)>,
}

fn fold_char(c: char) -> char {
    let c = match c as u32 {
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    };
    if c.is_ascii_uppercase() { c.to_ascii_lowercase() } else { c }
}

/// Folds `text` (see the module docs).
pub fn fold(text: &str) -> Folded {
    let spans: Vec<(usize, usize)> = text.char_indices().map(|(i, c)| (i, i + c.len_utf8())).collect();
    let pre: String = text.chars().map(fold_char).collect();
    let simplified = fast2s::convert(&pre);
    // fast2s maps char for char; if that ever changes, fall back to no conversion rather than wrong offsets.
    let text = if simplified.chars().count() == spans.len() { simplified } else { pre };
    Folded { text, spans }
}

/// Folds a query or term text without keeping offsets.
pub fn fold_str(text: &str) -> String {
    fold(text).text
}

/// Whether a char is CJK (Han ideographs and compatibility forms).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F | 0x3007)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// A finished token stream over a vector of tokens.
pub struct VecTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.index < self.tokens.len() {
            self.index += 1;
            true
        } else {
            false
        }
    }
    fn token(&self) -> &Token {
        &self.tokens[self.index - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index - 1]
    }
}

fn token(text: &str, from: usize, to: usize, position: usize) -> Token {
    Token { offset_from: from, offset_to: to, position, text: text.to_string(), position_length: 1 }
}

/// jieba word segmentation over folded text.
#[derive(Clone)]
pub struct ZhTokenizer {
    jieba: Arc<Jieba>,
}

impl ZhTokenizer {
    /// A tokenizer sharing a loaded dictionary.
    pub fn new(jieba: Arc<Jieba>) -> Self {
        ZhTokenizer { jieba }
    }

    /// `text` cut into jieba words, every character kept (spaces and punctuation as pieces of their own), so
    /// the pieces joined give `text` back: for comparing texts word by word (docs/DESIGN.md §4).
    pub fn cut<'t>(&self, text: &'t str) -> Vec<&'t str> {
        self.jieba.cut(text, true)
    }

    /// The word tokens of `text`: (folded word, original byte range).
    pub fn words(&self, text: &str) -> Vec<(String, usize, usize)> {
        let folded = fold(text);
        let mut out = Vec::new();
        let mut char_pos = 0usize;
        for piece in self.jieba.cut(&folded.text, true) {
            let n = piece.chars().count();
            let start = char_pos;
            char_pos += n;
            if !piece.chars().any(is_word_char) {
                continue;
            }
            // jieba keeps runs like "abc123" or "2019年" whole; split mixed runs of Latin and CJK? jieba already
            // separates scripts, so a piece is either CJK or alphanumeric.
            let (Some(&(from, _)), Some(&(_, to))) = (folded.spans.get(start), folded.spans.get(char_pos - 1)) else {
                continue;
            };
            out.push((piece.to_string(), from, to));
        }
        out
    }
}

impl Tokenizer for ZhTokenizer {
    type TokenStream<'a> = VecTokenStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let tokens =
            self.words(text).into_iter().enumerate().map(|(i, (w, from, to))| token(&w, from, to, i)).collect();
        VecTokenStream { tokens, index: 0 }
    }
}

/// CJK unigrams + bigrams and Latin words, over folded text.
#[derive(Clone, Default)]
pub struct NgramTokenizer;

impl NgramTokenizer {
    /// The n-gram terms of `text`: (term, original byte range).
    pub fn grams(text: &str) -> Vec<(String, usize, usize)> {
        let folded = fold(text);
        let chars: Vec<char> = folded.text.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if is_cjk(c) {
                out.push((c.to_string(), folded.spans[i].0, folded.spans[i].1));
                if i + 1 < chars.len() && is_cjk(chars[i + 1]) {
                    out.push((chars[i..i + 2].iter().collect(), folded.spans[i].0, folded.spans[i + 1].1));
                }
                i += 1;
            } else if is_word_char(c) {
                let start = i;
                while i < chars.len() && is_word_char(chars[i]) && !is_cjk(chars[i]) {
                    i += 1;
                }
                out.push((chars[start..i].iter().collect(), folded.spans[start].0, folded.spans[i - 1].1));
            } else {
                i += 1;
            }
        }
        out
    }

    /// The terms a query word must all match in the n-gram field: bigrams of CJK runs (a lone CJK char as a
    /// unigram), Latin words whole.
    pub fn query_grams(text: &str) -> Vec<String> {
        let folded = fold_str(text);
        let chars: Vec<char> = folded.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            if is_cjk(chars[i]) {
                let start = i;
                while i < chars.len() && is_cjk(chars[i]) {
                    i += 1;
                }
                if i - start == 1 {
                    out.push(chars[start].to_string());
                } else {
                    out.extend(chars[start..i].windows(2).map(|w| w.iter().collect::<String>()));
                }
            } else if is_word_char(chars[i]) {
                let start = i;
                while i < chars.len() && is_word_char(chars[i]) && !is_cjk(chars[i]) {
                    i += 1;
                }
                out.push(chars[start..i].iter().collect());
            } else {
                i += 1;
            }
        }
        out.dedup();
        out
    }
}

impl Tokenizer for NgramTokenizer {
    type TokenStream<'a> = VecTokenStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let tokens = Self::grams(text).into_iter().enumerate().map(|(i, (w, f, t))| token(&w, f, t, i)).collect();
        VecTokenStream { tokens, index: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    pub(crate) fn jieba() -> Arc<Jieba> {
        static J: OnceLock<Arc<Jieba>> = OnceLock::new();
        J.get_or_init(|| Arc::new(Jieba::new())).clone()
    }

    #[test]
    fn traditional_and_simplified_fold_together() {
        assert_eq!(fold_str("晉升檔案"), "晋升档案");
        assert_eq!(fold_str("ＡＢＣ１２３"), "abc123");
        let t = ZhTokenizer::new(jieba());
        let a: Vec<String> = t.words("該同志擬晉升處長").into_iter().map(|w| w.0).collect();
        let b: Vec<String> = t.words("该同志拟晋升处长").into_iter().map(|w| w.0).collect();
        assert_eq!(a, b);
        assert!(a.contains(&"处长".to_string()), "{a:?}");
    }

    #[test]
    fn offsets_point_into_the_original_and_never_overlap() {
        let t = ZhTokenizer::new(jieba());
        let text = "2019年7月，張偉明同志晉升為財務部處長。Labor contracts signed.";
        let words = t.words(text);
        let mut last_end = 0;
        for (w, from, to) in &words {
            assert!(*from >= last_end, "overlap at {w}");
            assert!(text.is_char_boundary(*from) && text.is_char_boundary(*to));
            assert_eq!(fold_str(&text[*from..*to]), *w);
            last_end = *to;
        }
        assert!(words.iter().any(|w| w.0 == "contracts"));
    }

    #[test]
    fn ngrams() {
        let g: Vec<String> = NgramTokenizer::grams("档案A1").into_iter().map(|g| g.0).collect();
        assert_eq!(g, ["档", "档案", "案", "a1"]);
        assert_eq!(NgramTokenizer::query_grams("晉升 X"), ["晋升", "x"]);
        assert_eq!(NgramTokenizer::query_grams("档"), ["档"]);
        assert_eq!(NgramTokenizer::query_grams("人事档案"), ["人事", "事档", "档案"]);
    }

    #[test]
    fn odd_input_never_panics() {
        let t = ZhTokenizer::new(jieba());
        for s in ["", " ", "\u{0}", "𠀀𠀁", "é\u{301}", "。。。", "a\u{200b}b", "ｱｲｳ"] {
            let _ = t.words(s);
            let _ = NgramTokenizer::grams(s);
            let _ = NgramTokenizer::query_grams(s);
        }
    }
}
