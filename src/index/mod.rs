//! The search index: the only module that knows Tantivy. One document per current material version, holding
//! ids, filter fields and the analysed text — but no stored text: snippets are cut from the decrypted text the
//! store keeps, so the index's only plaintext is its term dictionary. The index is derived data: it can be
//! rebuilt from the store at any time (`dangan reindex`).
//!
//! Queries are built here, not parsed with Tantivy's query language, so user input can never be a syntax error:
//! every whitespace-separated word must match, either as jieba words (phrase) in the title, names or body, or
//! as all of its CJK bigrams in the n-gram field. Filters (category, department, date range and, later, the
//! caller's permissions) are clauses of the same query, so totals and paging count only what passes them.
//!
//! Where the files live is a Tantivy [`Directory`](tantivy::Directory), handed to [`SearchIndex::open_in`] — the
//! seam for another place to keep them. [`SearchIndex::open_sealed`] (the service's) passes a [`SealedDirectory`]
//! over a memory-mapped directory, so every file on disk is ciphertext ([`sealed`]); [`SearchIndex::open`] passes
//! the memory-mapped directory alone (benchmarks), [`SearchIndex::in_memory`] keeps the index in RAM (tests).

pub mod analyzer;
pub mod sealed;

use analyzer::{NgramTokenizer, ZhTokenizer};
use jieba_rs::Jieba;
pub use sealed::{FileSealer, SealedDirectory};
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{Language, LowerCaser, Stemmer, TextAnalyzer};
use tantivy::{DateTime, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

/// The index writer's memory budget per indexing thread (Tantivy needs at least 15 MB each).
const WRITER_HEAP_PER_THREAD: usize = 48 * 1024 * 1024;
/// Name of the word analyzer.
pub const ZH: &str = "zh_words";
/// Name of the n-gram analyzer.
pub const NGRAM: &str = "zh_ngram";

/// Errors of the index.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Tantivy failed.
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// The index directory could not be opened or created.
    #[error("search index directory: {0}")]
    Directory(String),
    /// The on-disk index was built with another schema (rebuild with `dangan reindex`).
    #[error("the search index on disk has another schema; run `dangan reindex`")]
    SchemaMismatch,
}

/// The index's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The fields of the schema.
#[derive(Clone, Copy, Debug)]
pub struct Fields {
    material_id: Field,
    person_id: Field,
    names: Field,
    title: Field,
    body: Field,
    ngram: Field,
    category: Field,
    department: Field,
    tags: Field,
    family: Field,
    secrecy: Field,
    formed: Field,
}

/// Builds the schema (its JSON form is kept in `index-schema/schema.json` and checked by a test).
pub fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(ZH).set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let grams = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(NGRAM).set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        material_id: b.add_text_field("material_id", STRING | STORED),
        person_id: b.add_text_field("person_id", STRING | STORED),
        names: b.add_text_field("names", words.clone()),
        title: b.add_text_field("title", words.clone()),
        body: b.add_text_field("body", words),
        ngram: b.add_text_field("ngram", grams),
        category: b.add_text_field("category", STRING),
        department: b.add_text_field("department", STRING),
        tags: b.add_text_field("tags", STRING),
        family: b.add_text_field("family", STRING),
        secrecy: b.add_u64_field("secrecy", INDEXED | FAST),
        formed: b.add_date_field("formed", INDEXED | FAST),
    };
    (b.build(), fields)
}

/// What the index holds of one material.
#[derive(Clone, Debug, Default)]
pub struct IndexDoc {
    /// Material id.
    pub material_id: String,
    /// Person id.
    pub person_id: String,
    /// The person's names (name, former names).
    pub names: Vec<String>,
    /// 材料名称.
    pub title: String,
    /// Category code and its ancestors (`9-1`, `9`).
    pub categories: Vec<String>,
    /// The person's department code.
    pub department: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Persons recorded in the person's family records (for the no-relatives rule).
    pub family: Vec<String>,
    /// Secrecy level.
    pub secrecy: u64,
    /// First day of the formed date, as Unix seconds.
    pub formed: Option<i64>,
    /// Extracted text (empty for scans without OCR).
    pub body: String,
}

/// One way a caller may see a material: every set part must match (a scope of categories or tags, departments,
/// persons, materials). A search returns what matches any of the caller's clauses.
#[derive(Clone, Debug, Default)]
pub struct Allow {
    /// Every category and tag; otherwise `categories` or `tags` must match.
    pub all: bool,
    /// Categories (a parent code matches its sub-categories).
    pub categories: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Only these departments.
    pub departments: Option<Vec<String>>,
    /// Only these persons.
    pub persons: Option<Vec<String>>,
    /// Only these materials.
    pub materials: Option<Vec<String>>,
}

/// Restrictions on what a search may return. Every set field is a filter clause of the query.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// What the caller may see: `None` is unrestricted, an empty list nothing.
    pub allow: Option<Vec<Allow>>,
    /// Only these categories (a parent code matches its sub-categories).
    pub categories: Option<Vec<String>>,
    /// Only these departments.
    pub departments: Option<Vec<String>>,
    /// Formed on or after (Unix seconds).
    pub formed_from: Option<i64>,
    /// Formed on or before (Unix seconds).
    pub formed_to: Option<i64>,
    /// At most this secrecy level.
    pub max_secrecy: Option<u64>,
    /// Never these persons (the caller's own dossier, recorded relatives).
    pub exclude_persons: Vec<String>,
    /// Never the dossiers whose family records name these persons (the caller, as someone's relative).
    pub exclude_family_of: Vec<String>,
}

/// One hit: ids and score.
#[derive(Clone, Debug)]
pub struct Hit {
    /// Material id.
    pub material_id: String,
    /// Person id.
    pub person_id: String,
    /// Relevance.
    pub score: f32,
}

/// A page of hits and the total that matched.
pub struct SearchResults {
    /// How many documents matched in all.
    pub total: usize,
    /// The requested page.
    pub hits: Vec<Hit>,
    /// The folded query words, for highlighting.
    words: Vec<String>,
}

/// A snippet: an HTML fragment with `<b>` around matches (text escaped), and the plain fragment.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SnippetText {
    /// Escaped HTML with `<b>` highlights.
    pub html: String,
    /// Plain text.
    pub text: String,
    /// Where the first highlighted match starts in the text the snippet was cut from, in characters (`None`
    /// when no query word occurs in it).
    #[serde(skip)]
    pub first_match: Option<usize>,
}

/// Characters of context a snippet shows.
const SNIPPET_CHARS: usize = 120;

impl SearchResults {
    /// Cuts a snippet from a hit's text: a window around the first occurrence of a query word, every occurrence
    /// highlighted. Matching runs on folded text (so 晉升 highlights 晋升), offsets map back to the original.
    /// Done here rather than with Tantivy's snippet generator so that words inside longer jieba words (晋升 in
    /// 晋升为) are highlighted too.
    pub fn snippet(&self, text: &str) -> SnippetText {
        snippet(text, &self.words)
    }
}

/// See [`SearchResults::snippet`].
pub fn snippet(text: &str, words: &[String]) -> SnippetText {
    let folded = analyzer::fold(text);
    let chars: Vec<char> = folded.text.chars().collect();
    let needles: Vec<Vec<char>> =
        words.iter().map(|w| w.chars().collect::<Vec<char>>()).filter(|w| !w.is_empty()).collect();
    // Every match as a char range, earliest first, longest first at a position; no overlaps.
    let mut matches: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let best = needles.iter().filter(|n| chars[i..].starts_with(n)).map(Vec::len).max();
        match best {
            Some(len) => {
                matches.push((i, i + len));
                i += len;
            }
            None => i += 1,
        }
    }
    let start = matches.first().map(|m| m.0.saturating_sub(SNIPPET_CHARS / 4)).unwrap_or(0);
    let end = (start + SNIPPET_CHARS).min(chars.len());
    let mut html = String::new();
    let mut plain = String::new();
    let mut pos = start;
    let original = |from: usize, to: usize| -> &str {
        if from >= to {
            return "";
        }
        &text[folded.spans[from].0..folded.spans[to - 1].1]
    };
    for &(a, b) in matches.iter().filter(|m| m.0 >= start && m.1 <= end) {
        html.push_str(&escape_html(original(pos, a)));
        html.push_str("<b>");
        html.push_str(&escape_html(original(a, b)));
        html.push_str("</b>");
        pos = b;
    }
    html.push_str(&escape_html(original(pos, end)));
    plain.push_str(original(start, end));
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let first_match = matches.first().map(|&(a, _)| text[..folded.spans[a].0].chars().count());
    SnippetText { html: squash(&html), text: squash(&plain), first_match }
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The search index.
pub struct SearchIndex {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    words: ZhTokenizer,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SearchIndex")
    }
}

impl SearchIndex {
    /// Opens the index in `dir` unsealed, creating it when absent (benchmarks compare it with the sealed one). A
    /// different schema on disk is [`Error::SchemaMismatch`].
    pub fn open(dir: &Path, jieba: Arc<Jieba>) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Directory(e.to_string()))?;
        let mmap = tantivy::directory::MmapDirectory::open(dir).map_err(|e| Error::Directory(e.to_string()))?;
        Self::open_in(Box::new(mmap), jieba)
    }

    /// Opens the index in `dir` with every file sealed by `sealer` (see [`sealed`]), creating it when absent.
    /// An unsealed index left by an older version is removed, to be rebuilt from the store; at most
    /// `cache_bytes` of decrypted blocks are kept in memory.
    pub fn open_sealed(dir: &Path, jieba: Arc<Jieba>, sealer: Arc<dyn FileSealer>, cache_bytes: usize) -> Result<Self> {
        let io = |e: std::io::Error| Error::Directory(e.to_string());
        if sealed::is_plain_index(dir) {
            tracing::warn!(dir = %dir.display(), "the search index was written unsealed by an older version: removing it to rebuild it sealed");
            std::fs::remove_dir_all(dir).map_err(io)?;
        }
        std::fs::create_dir_all(dir).map_err(io)?;
        let marker = dir.join(sealed::MARKER);
        if !marker.exists() {
            std::fs::write(&marker, b"sealed index directory; every other file here is ciphertext\n").map_err(io)?;
        }
        let mmap = tantivy::directory::MmapDirectory::open(dir).map_err(|e| Error::Directory(e.to_string()))?;
        Self::open_in(Box::new(SealedDirectory::new(Box::new(mmap), sealer, cache_bytes)), jieba)
    }

    /// Opens the index in any Tantivy [`Directory`](tantivy::Directory), creating it when absent: the seam for
    /// another place to keep the index files. [`SearchIndex::open`] passes a memory-mapped directory,
    /// [`SearchIndex::open_sealed`] a [`SealedDirectory`] over one; a directory that must keep nothing readable
    /// goes inside a [`SealedDirectory`] too. A different schema there is [`Error::SchemaMismatch`].
    pub fn open_in(directory: Box<dyn tantivy::Directory>, jieba: Arc<Jieba>) -> Result<Self> {
        let (schema, fields) = schema();
        let index = match Index::open_or_create(directory, schema.clone()) {
            Ok(i) => i,
            Err(tantivy::TantivyError::SchemaError(_)) => return Err(Error::SchemaMismatch),
            Err(e) => return Err(e.into()),
        };
        // One indexing thread per core (at most four), each with its share of the memory budget: documents are
        // analysed (jieba, bigrams) in parallel while the text lane gathers the next batch.
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 4);
        Self::with_index(index, fields, jieba, threads)
    }

    /// An index in memory (unit tests).
    pub fn in_memory(jieba: Arc<Jieba>) -> Result<Self> {
        let (schema, fields) = schema();
        // One indexing thread: segments are made exactly as documents are committed (tests rely on it).
        Self::with_index(Index::create_in_ram(schema), fields, jieba, 1)
    }

    fn with_index(index: Index, fields: Fields, jieba: Arc<Jieba>, threads: usize) -> Result<Self> {
        let words = ZhTokenizer::new(jieba);
        index.tokenizers().register(
            ZH,
            TextAnalyzer::builder(words.clone()).filter(LowerCaser).filter(Stemmer::new(Language::English)).build(),
        );
        index.tokenizers().register(NGRAM, TextAnalyzer::builder(NgramTokenizer).build());
        let writer = index.writer_with_num_threads(threads, threads * WRITER_HEAP_PER_THREAD)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(SearchIndex { reader, writer: Mutex::new(writer), fields, words })
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds or replaces documents (not visible until [`SearchIndex::commit`]).
    pub fn upsert(&self, docs: &[IndexDoc]) -> Result<()> {
        let f = &self.fields;
        let w = self.writer();
        for d in docs {
            w.delete_term(Term::from_field_text(f.material_id, &d.material_id));
            let mut doc = TantivyDocument::default();
            doc.add_text(f.material_id, &d.material_id);
            doc.add_text(f.person_id, &d.person_id);
            for n in &d.names {
                doc.add_text(f.names, n);
            }
            doc.add_text(f.title, &d.title);
            doc.add_text(f.body, &d.body);
            doc.add_text(f.ngram, format!("{}\n{}\n{}", d.title, d.names.join(" "), d.body));
            for c in &d.categories {
                doc.add_text(f.category, c);
            }
            doc.add_text(f.department, &d.department);
            for t in &d.tags {
                doc.add_text(f.tags, t);
            }
            for p in &d.family {
                doc.add_text(f.family, p);
            }
            doc.add_u64(f.secrecy, d.secrecy);
            if let Some(ts) = d.formed {
                doc.add_date(f.formed, DateTime::from_timestamp_secs(ts));
            }
            w.add_document(doc)?;
        }
        Ok(())
    }

    /// Removes a material.
    pub fn delete(&self, material_id: &str) {
        self.writer().delete_term(Term::from_field_text(self.fields.material_id, material_id));
    }

    /// Removes every document (before a rebuild).
    pub fn clear(&self) -> Result<()> {
        self.writer().delete_all_documents()?;
        Ok(())
    }

    /// Makes pending changes durable and visible.
    pub fn commit(&self) -> Result<()> {
        self.writer().commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Rewrites every segment that holds deleted documents without them, and removes the old segment files, so
    /// a deleted document's terms are gone from the index files (a destroyed material's words must not linger).
    pub fn purge_deleted(&self) -> Result<()> {
        let searcher = self.reader.searcher();
        let ids: Vec<tantivy::index::SegmentId> =
            searcher.segment_readers().iter().filter(|s| s.num_deleted_docs() > 0).map(|s| s.segment_id()).collect();
        if !ids.is_empty() {
            let mut w = self.writer();
            w.merge(&ids).wait()?;
            // Files of merged-away segments are deleted once nothing reads them.
            drop(searcher);
            self.reader.reload()?;
            w.garbage_collect_files().wait()?;
        }
        Ok(())
    }

    /// Whether the index files still hold `word`: every n-gram term of it is in some segment's term dictionary,
    /// deleted documents included — what purging must remove (for verification and tests of destruction).
    pub fn holds_term(&self, word: &str) -> bool {
        let searcher = self.reader.searcher();
        let grams: Vec<String> =
            NgramTokenizer::grams(word).into_iter().map(|g| g.0).filter(|g| g.chars().count() > 1).collect();
        !grams.is_empty()
            && grams.iter().all(|g| {
                searcher.segment_readers().iter().any(|segment| {
                    segment
                        .inverted_index(self.fields.ngram)
                        .is_ok_and(|inv| inv.terms().get(g.as_bytes()).ok().flatten().is_some())
                })
            })
    }

    /// Number of documents searchable now.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn text_query(&self, q: &str) -> Option<Box<dyn Query>> {
        let f = &self.fields;
        let mut musts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in q.split_whitespace().take(32) {
            let tokens: Vec<String> = self.words.words(word).into_iter().map(|t| stem(&t.0)).collect();
            let grams = NgramTokenizer::query_grams(word);
            if tokens.is_empty() && grams.is_empty() {
                continue;
            }
            let mut shoulds: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for (field, boost) in [(f.title, 3.0), (f.names, 3.0), (f.body, 1.0)] {
                if let Some(q) = words_query(field, &tokens) {
                    shoulds.push((Occur::Should, Box::new(BoostQuery::new(q, boost))));
                }
            }
            if !grams.is_empty() {
                let all: Vec<(Occur, Box<dyn Query>)> = grams
                    .iter()
                    .map(|g| -> (Occur, Box<dyn Query>) {
                        (
                            Occur::Must,
                            Box::new(TermQuery::new(Term::from_field_text(f.ngram, g), IndexRecordOption::WithFreqs)),
                        )
                    })
                    .collect();
                shoulds.push((Occur::Should, Box::new(BoostQuery::new(Box::new(BooleanQuery::new(all)), 0.5))));
            }
            musts.push((Occur::Must, Box::new(BooleanQuery::new(shoulds))));
        }
        (!musts.is_empty()).then(|| Box::new(BooleanQuery::new(musts)) as Box<dyn Query>)
    }

    /// A filter on a few values of a field: term queries (lazy, skipping through postings — a term-set query
    /// would build a bitset of every posting on each search), scoring nothing.
    fn set(&self, field: Field, values: &[String]) -> Box<dyn Query> {
        let term = |v: &String| -> Box<dyn Query> {
            Box::new(TermQuery::new(Term::from_field_text(field, v), IndexRecordOption::Basic))
        };
        let q: Box<dyn Query> = match values {
            [] => Box::new(tantivy::query::EmptyQuery),
            [one] => term(one),
            many if many.len() <= 64 => {
                Box::new(BooleanQuery::new(many.iter().map(|v| (Occur::Should, term(v))).collect()))
            }
            many => Box::new(TermSetQuery::new(many.iter().map(|v| Term::from_field_text(field, v)))),
        };
        Box::new(tantivy::query::ConstScoreQuery::new(q, 0.0))
    }

    fn allow_clause(&self, a: &Allow) -> Box<dyn Query> {
        let f = &self.fields;
        let mut musts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if !a.all {
            let scope =
                vec![(Occur::Should, self.set(f.category, &a.categories)), (Occur::Should, self.set(f.tags, &a.tags))];
            musts.push((Occur::Must, Box::new(BooleanQuery::new(scope))));
        }
        for (field, values) in
            [(f.department, &a.departments), (f.person_id, &a.persons), (f.material_id, &a.materials)]
        {
            if let Some(v) = values {
                musts.push((Occur::Must, self.set(field, v)));
            }
        }
        if musts.is_empty() {
            return Box::new(AllQuery);
        }
        Box::new(BooleanQuery::new(musts))
    }

    fn filter_clauses(&self, filter: &Filter) -> Vec<(Occur, Box<dyn Query>)> {
        let f = &self.fields;
        let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some(allow) = &filter.allow {
            let q: Box<dyn Query> = if allow.is_empty() {
                Box::new(tantivy::query::EmptyQuery)
            } else {
                Box::new(BooleanQuery::new(allow.iter().map(|a| (Occur::Should, self.allow_clause(a))).collect()))
            };
            out.push((Occur::Must, q));
        }
        if let Some(c) = &filter.categories {
            out.push((Occur::Must, self.set(f.category, c)));
        }
        if let Some(d) = &filter.departments {
            out.push((Occur::Must, self.set(f.department, d)));
        }
        if !filter.exclude_persons.is_empty() {
            out.push((Occur::MustNot, self.set(f.person_id, &filter.exclude_persons)));
        }
        if !filter.exclude_family_of.is_empty() {
            out.push((Occur::MustNot, self.set(f.family, &filter.exclude_family_of)));
        }
        if filter.formed_from.is_some() || filter.formed_to.is_some() {
            let bound = |ts: Option<i64>| match ts {
                Some(ts) => Bound::Included(Term::from_field_date(f.formed, DateTime::from_timestamp_secs(ts))),
                None => Bound::Unbounded,
            };
            out.push((Occur::Must, Box::new(RangeQuery::new(bound(filter.formed_from), bound(filter.formed_to)))));
        }
        if let Some(max) = filter.max_secrecy {
            out.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Included(Term::from_field_u64(f.secrecy, 0)),
                    Bound::Included(Term::from_field_u64(f.secrecy, max)),
                )),
            ));
        }
        out
    }

    /// Searches: `q` (may be empty: filters only), filtered, one page from `offset`.
    pub fn search(&self, q: &str, filter: &Filter, limit: usize, offset: usize) -> Result<SearchResults> {
        let searcher = self.reader.searcher();
        let text = self.text_query(q);
        let mut clauses = self.filter_clauses(filter);
        let words: Vec<String> = q.split_whitespace().map(analyzer::fold_str).collect();
        let text: Box<dyn Query> = match text {
            Some(t) => t,
            // Words that hold no searchable character match nothing; no words at all lists by the filters.
            None if !q.trim().is_empty() => Box::new(tantivy::query::EmptyQuery),
            None => Box::new(AllQuery),
        };
        clauses.push((Occur::Must, text));
        let query = BooleanQuery::new(clauses);
        let (total, top) =
            searcher.search(&query, &(Count, TopDocs::with_limit(limit.clamp(1, 1000)).and_offset(offset)))?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let get = |field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            hits.push(Hit { material_id: get(self.fields.material_id), person_id: get(self.fields.person_id), score });
        }
        Ok(SearchResults { total, hits, words })
    }

    /// `text` cut into jieba words with every character kept: the pieces joined give `text` back (the diff of
    /// two versions compares changed paragraphs by these words).
    pub fn cut_words<'t>(&self, text: &'t str) -> Vec<&'t str> {
        self.words.cut(text)
    }

    /// The schema as stored with the index, as JSON (compared with `index-schema/schema.json` by a test).
    pub fn schema_json() -> String {
        serde_json::to_string_pretty(&schema().0).unwrap_or_default()
    }

    /// Ids of all documents (for reconciliation after a crash).
    pub fn contains(&self, material_id: &str) -> Result<bool> {
        let searcher = self.reader.searcher();
        let q = TermQuery::new(Term::from_field_text(self.fields.material_id, material_id), IndexRecordOption::Basic);
        Ok(searcher.search(&q, &Count)? > 0)
    }
}

fn stem(word: &str) -> String {
    // Apply the same filter chain as indexing (lower-case, English stemmer) to a folded word.
    let mut a = TextAnalyzer::builder(tantivy::tokenizer::RawTokenizer::default())
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build();
    let mut s = a.token_stream(word);
    let mut out = word.to_string();
    s.process(&mut |t| out = t.text.clone());
    out
}

fn words_query(field: Field, tokens: &[String]) -> Option<Box<dyn Query>> {
    match tokens {
        [] => None,
        [one] => Some(Box::new(TermQuery::new(Term::from_field_text(field, one), IndexRecordOption::WithFreqs))),
        many => Some(Box::new(PhraseQuery::new(many.iter().map(|t| Term::from_field_text(field, t)).collect()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx() -> SearchIndex {
        SearchIndex::in_memory(Arc::new(Jieba::new())).unwrap()
    }

    #[test]
    fn purging_removes_a_deleted_documents_terms_from_the_index_files() {
        let i = idx();
        i.upsert(&[doc("a", "待销毁", "鸩羽之约的记录", "10", "ops"), doc("b", "其他", "普通内容", "10", "ops")])
            .unwrap();
        i.commit().unwrap();
        i.upsert(&[doc("c", "另一份", "普通内容二", "10", "ops")]).unwrap();
        i.commit().unwrap();
        assert!(i.holds_term("鸩羽之约"));
        i.delete("a");
        i.commit().unwrap();
        assert_eq!(i.search("鸩羽之约", &Filter::default(), 10, 0).unwrap().total, 0);
        assert!(i.holds_term("鸩羽之约"), "a deleted document's terms stay in its segment until it is merged");
        i.purge_deleted().unwrap();
        assert!(!i.holds_term("鸩羽之约"));
        assert_eq!(i.search("普通内容", &Filter::default(), 10, 0).unwrap().total, 2);
    }

    fn doc(id: &str, title: &str, body: &str, cat: &str, dept: &str) -> IndexDoc {
        IndexDoc {
            material_id: id.into(),
            person_id: format!("p-{id}"),
            names: vec!["张伟明".into()],
            title: title.into(),
            categories: vec![cat.into(), cat.split('-').next().unwrap_or(cat).into()],
            department: dept.into(),
            body: body.into(),
            formed: Some(1_500_000_000),
            family: if id == "c" { vec!["x".into()] } else { vec![] },
            ..Default::default()
        }
    }

    #[test]
    fn both_scripts_match_and_filters_apply() {
        let i = idx();
        i.upsert(&[
            doc("a", "干部任免审批表", "张伟明同志晋升为财务部处长。", "9-2", "finance"),
            doc("b", "年度考核登記表", "該同志工作優秀，擬予晉升。", "3", "ops"),
            doc("c", "劳动合同", "竞业限制条款。", "10", "legal"),
        ])
        .unwrap();
        i.commit().unwrap();
        let ids = |q: &str, f: &Filter| -> Vec<String> {
            let mut v: Vec<String> = i.search(q, f, 10, 0).unwrap().hits.into_iter().map(|h| h.material_id).collect();
            v.sort();
            v
        };
        let none = Filter::default();
        assert_eq!(ids("晋升", &none), ["a", "b"]);
        assert_eq!(ids("晉升", &none), ["a", "b"]);
        assert_eq!(ids("竞业", &none), ["c"], "a partial word is found through bigrams");
        assert_eq!(ids("张伟明 竞业", &none), ["c"], "every word must match");
        assert_eq!(ids("晋升", &Filter { categories: Some(vec!["9".into()]), ..Default::default() }), ["a"]);
        let finance = Filter {
            allow: Some(vec![Allow {
                categories: vec!["9-1".into()],
                tags: vec!["salary".into()],
                ..Default::default()
            }]),
            ..Default::default()
        };
        assert_eq!(ids("", &finance), Vec::<String>::new());
        let heads = Filter {
            allow: Some(vec![Allow {
                categories: vec!["3".into()],
                departments: Some(vec!["ops".into()]),
                ..Default::default()
            }]),
            ..Default::default()
        };
        assert_eq!(ids("", &heads), ["b"]);
        assert_eq!(ids("", &Filter { allow: Some(vec![]), ..Default::default() }), Vec::<String>::new());
        let two = Filter {
            allow: Some(vec![
                Allow { all: true, persons: Some(vec!["p-c".into()]), ..Default::default() },
                Allow { categories: vec!["9".into()], ..Default::default() },
            ]),
            ..Default::default()
        };
        assert_eq!(ids("", &two), ["a", "c"]);
        assert_eq!(ids("", &Filter { exclude_family_of: vec!["x".into()], ..Default::default() }).len(), 2);
        assert_eq!(ids("晋升", &Filter { departments: Some(vec!["ops".into()]), ..Default::default() }), ["b"]);
        assert_eq!(ids("", &Filter { formed_to: Some(1), ..Default::default() }), Vec::<String>::new());
        assert_eq!(ids("", &none).len(), 3);
        assert_eq!(ids("\"(*:", &none), Vec::<String>::new(), "syntax characters are just text");
        let r = i.search("晋升", &none, 1, 0).unwrap();
        assert_eq!(r.total, 2);
        assert_eq!(r.hits.len(), 1);
        let s = r.snippet("该同志工作優秀，擬予晉升為處長。");
        assert!(s.html.contains("<b>晉升</b>"), "{}", s.html);
        // The first match's place in the text, in characters of the original (not the folded) text.
        assert_eq!(s.first_match, Some(10));
        let s = snippet("<script>晋升为</script>", &["晋升".into()]);
        assert_eq!(s.html, "&lt;script&gt;<b>晋升</b>为&lt;/script&gt;");
        assert_eq!(s.first_match, Some(8));
        assert_eq!(snippet("ＡＢ晋升", &["晋升".into()]).first_match, Some(2));
        assert_eq!(snippet("无匹配的文字", &["x".into()]).text, "无匹配的文字");
        assert_eq!(snippet("无匹配的文字", &["x".into()]).first_match, None);
    }

    #[test]
    fn an_index_opens_in_another_directory_and_searches_through_it() {
        use tantivy::directory::RamDirectory;
        let jieba = Arc::new(Jieba::new());
        // A plain RamDirectory, and a sealed one over another: both index and search, and reopen what they hold.
        let master = crate::crypto::MasterKey::from_bytes([9; 32]);
        let keys = crate::crypto::Keys::derive(crate::crypto::Suite::Gm, &master);
        let sealer: Arc<dyn FileSealer> = Arc::new(crate::bootstrap::IndexSealer(keys));
        let plain = RamDirectory::create();
        let under = RamDirectory::create();
        let dirs: [(Box<dyn tantivy::Directory>, Box<dyn tantivy::Directory>); 2] = [
            (Box::new(plain.clone()), Box::new(plain.clone())),
            (
                Box::new(SealedDirectory::new(Box::new(under.clone()), sealer.clone(), 1 << 20)),
                Box::new(SealedDirectory::new(Box::new(under.clone()), sealer, 1 << 20)),
            ),
        ];
        for (first, again) in dirs {
            let i = SearchIndex::open_in(first, jieba.clone()).unwrap();
            i.upsert(&[
                doc("a", "干部任免审批表", "晋升为处长", "9-2", "hr"),
                doc("b", "劳动合同", "竞业限制", "10", "hr"),
            ])
            .unwrap();
            i.commit().unwrap();
            let hits = i.search("晉升", &Filter::default(), 10, 0).unwrap();
            assert_eq!(hits.hits.iter().map(|h| h.material_id.as_str()).collect::<Vec<_>>(), ["a"]);
            drop(i);
            let i = SearchIndex::open_in(again, jieba.clone()).unwrap();
            assert_eq!(i.num_docs(), 2);
            assert_eq!(i.search("竞业", &Filter::default(), 10, 0).unwrap().total, 1);
        }
        // Underneath the sealed one lies ciphertext (the index's own meta.json, plain JSON in the plain one).
        let meta = Path::new("meta.json");
        assert!(tantivy::Directory::atomic_read(&plain, meta).unwrap().starts_with(b"{"));
        let sealed = tantivy::Directory::atomic_read(&under, meta).unwrap();
        assert!(!sealed.starts_with(b"{") && !sealed.windows(8).any(|w| w == b"segments"));
    }

    #[test]
    fn replace_and_delete() {
        let i = idx();
        i.upsert(&[doc("a", "工资", "岗位工资", "9-1", "hr")]).unwrap();
        i.commit().unwrap();
        i.upsert(&[doc("a", "工资", "薪级工资", "9-1", "hr")]).unwrap();
        i.commit().unwrap();
        assert_eq!(i.num_docs(), 1);
        assert_eq!(i.search("岗位", &Filter::default(), 10, 0).unwrap().total, 0);
        i.delete("a");
        i.commit().unwrap();
        assert!(!i.contains("a").unwrap());
    }

    #[test]
    fn schema_matches_the_golden_file() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/index-schema/schema.json");
        if std::env::var_os("DANGAN_UPDATE_GOLDEN").is_some() {
            std::fs::write(path, SearchIndex::schema_json() + "\n").unwrap();
        }
        let golden = std::fs::read_to_string(path).unwrap();
        assert_eq!(
            SearchIndex::schema_json().trim(),
            golden.trim(),
            "the index schema changed: update index-schema/schema.json (and its README) deliberately, and note that existing indexes need `dangan reindex`"
        );
    }
}
