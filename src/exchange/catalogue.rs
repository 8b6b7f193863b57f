//! Catalogues (目录) exchanged with other systems: a CSV whose columns are named either readably (`id_number`,
//! `category`, `title`, `formed_on`, `pages`, `note`, `file`, or their Chinese headings) or by the national cadre
//! information system's codes (E01Z101 类别, E01Z104 排序号, E01Z111 材料名称, E01Z114 页数, E01Z117 形成时间,
//! E01Z124 份数, E01Z201 接收时间, E01Z204 来处, E01Z207 接收人, E01Z231 备注; A0184 公民身份号码, A0101 姓名).
//! UTF-8 (with or without BOM) and GB18030 (what Excel writes on a Chinese desktop) are both read, and so is an
//! XLSX workbook (its first sheet).
//!
//! Values (DOMAIN §2): a catalogue under the national codes carries 形成时间 as `YYYYMMDD` (`YYYYMM`, `YYYY` when
//! the day or month is unknown) and 类别 as its code-table value (`01` … `10`, `0401`, `0902`); readable catalogues
//! may write `2019-07-01` and `4-1`. Reading accepts either form under either heading, and the usual hand-written
//! dates besides ([`normalize_date`]). A `scheme` column names the classification scheme of a row's 类别 (`2018`,
//! `2009`, `1991`; see `model/legacy_category.rs`).

use std::collections::HashMap;

/// A column of the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    /// The file, by its path inside the batch.
    File,
    /// The person's ID number (公民身份号码).
    IdNumber,
    /// The person's id in dangan.
    PersonId,
    /// The person's name (checked against the record when given).
    Name,
    /// 类别 (E01Z101).
    Category,
    /// 排序号 (E01Z104).
    Order,
    /// 材料名称 (E01Z111).
    Title,
    /// 页数 (E01Z114).
    Pages,
    /// 形成时间 (E01Z117).
    FormedOn,
    /// 份数 (E01Z124).
    Copies,
    /// 接收时间 (E01Z201).
    ReceivedOn,
    /// 来处 (E01Z204).
    Source,
    /// 接收人 (E01Z207).
    Receiver,
    /// 备注 (E01Z231).
    Note,
    /// Tags, separated by `;` or `、`.
    Tags,
    /// The classification scheme of the row's 类别 (`2018`, `2009`, `1991`).
    Scheme,
}

impl Column {
    /// The national code, for the columns that have one.
    pub fn national_code(self) -> Option<&'static str> {
        Some(match self {
            Column::IdNumber => "A0184",
            Column::Name => "A0101",
            Column::Category => "E01Z101",
            Column::Order => "E01Z104",
            Column::Title => "E01Z111",
            Column::Pages => "E01Z114",
            Column::FormedOn => "E01Z117",
            Column::Copies => "E01Z124",
            Column::ReceivedOn => "E01Z201",
            Column::Source => "E01Z204",
            Column::Receiver => "E01Z207",
            Column::Note => "E01Z231",
            Column::File | Column::PersonId | Column::Tags | Column::Scheme => return None,
        })
    }

    fn from_heading(h: &str) -> Option<Column> {
        let h = h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase();
        Some(match h.as_str() {
            "file" | "filename" | "path" | "文件" | "文件名" => Column::File,
            "id_number" | "a0184" | "身份证号" | "身份证号码" | "公民身份号码" => Column::IdNumber,
            "person_id" => Column::PersonId,
            "name" | "a0101" | "姓名" => Column::Name,
            "category" | "e01z101" | "类别" | "类号" => Column::Category,
            "order" | "e01z104" | "排序号" | "序号" => Column::Order,
            "title" | "e01z111" | "材料名称" => Column::Title,
            "pages" | "e01z114" | "页数" => Column::Pages,
            "formed_on" | "e01z117" | "形成时间" | "材料形成时间" => Column::FormedOn,
            "copies" | "e01z124" | "份数" => Column::Copies,
            "received_on" | "e01z201" | "接收时间" => Column::ReceivedOn,
            "source" | "source_unit" | "e01z204" | "来处" => Column::Source,
            "receiver" | "e01z207" | "接收人" => Column::Receiver,
            "note" | "e01z231" | "备注" => Column::Note,
            "tags" | "标签" => Column::Tags,
            "scheme" | "分类方案" | "分类标准" => Column::Scheme,
            _ => return None,
        })
    }
}

/// One row of a catalogue: the cells by column, and the line it came from (1 = the heading).
#[derive(Clone, Debug, Default)]
pub struct Row {
    /// The line in the file.
    pub line: usize,
    cells: HashMap<Column, String>,
}

impl Row {
    /// A cell, trimmed; `None` when absent or empty.
    pub fn get(&self, c: Column) -> Option<&str> {
        self.cells.get(&c).map(|s| s.trim()).filter(|s| !s.is_empty())
    }
}

/// Why a catalogue cannot be read at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogueError {
    /// Neither UTF-8 nor GB18030.
    #[error("the catalogue is neither UTF-8 nor GB18030 text")]
    Encoding,
    /// The CSV is malformed.
    #[error("catalogue line {line}: {why}")]
    Malformed {
        /// The line.
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// A column every row needs is absent.
    #[error("the catalogue has no {0} column (readable name or national code)")]
    MissingColumn(&'static str),
    /// More rows than a batch may hold.
    #[error("the catalogue has more than {0} rows")]
    TooManyRows(usize),
}

/// Most rows a catalogue may have.
pub const MAX_ROWS: usize = 100_000;

/// Decodes catalogue bytes: UTF-8 (BOM stripped) or, failing that, GB18030.
fn decode(bytes: &[u8]) -> Result<String, CatalogueError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_string());
    }
    let (s, _, had_errors) = encoding_rs::GB18030.decode(bytes);
    if had_errors { Err(CatalogueError::Encoding) } else { Ok(s.into_owned()) }
}

/// Reads a CSV catalogue. Unknown columns are ignored; `file`, `category` and `title` and a way to find the
/// person (`id_number` or `person_id`) are required.
pub fn parse_csv(bytes: &[u8]) -> Result<Vec<Row>, CatalogueError> {
    let text = decode(bytes)?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let malformed = |e: csv::Error| CatalogueError::Malformed {
        line: e.position().map(|p| p.line() as usize).unwrap_or(1),
        why: e.to_string(),
    };
    let columns = columns_of(reader.headers().map_err(malformed)?.iter())?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(malformed)?;
        let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
        push_row(&mut rows, &columns, line, record.iter())?;
    }
    Ok(rows)
}

/// Reads an XLSX catalogue: the first sheet, headings in its first row, under the same names as a CSV. The
/// workbook (itself a zip) is checked for bombs before it is opened.
pub fn parse_xlsx(bytes: &[u8]) -> Result<Vec<Row>, CatalogueError> {
    use calamine::Reader;
    let limits = super::zipsafe::ZipLimits { max_total_bytes: 256 * 1024 * 1024, ..Default::default() };
    super::zipsafe::SafeZip::open(std::io::Cursor::new(bytes), limits)
        .map_err(|e| CatalogueError::Malformed { line: 0, why: format!("not a readable workbook: {e}") })?;
    let bad = |e: &dyn std::fmt::Display| CatalogueError::Malformed { line: 0, why: format!("workbook: {e}") };
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).map_err(|e| bad(&e))?;
    let sheet = book.worksheet_range_at(0).ok_or_else(|| bad(&"no sheet"))?.map_err(|e| bad(&e))?;
    let mut lines = sheet.rows();
    let headings: Vec<String> = lines.next().map(|r| r.iter().map(cell_text).collect()).unwrap_or_default();
    let columns = columns_of(headings.iter().map(String::as_str))?;
    let mut rows = Vec::new();
    for (i, r) in lines.enumerate() {
        let cells: Vec<String> = r.iter().map(cell_text).collect();
        push_row(&mut rows, &columns, i + 2, cells.iter().map(String::as_str))?;
    }
    Ok(rows)
}

/// Largest date serial a workbook can hold: 9999-12-31.
const MAX_DATE_SERIAL: f64 = 2_958_465.0;

/// A workbook cell as a catalogue reads it: whole numbers without `.0`, dates as `YYYY-MM-DD`. A date serial no
/// workbook can hold (negative, beyond 9999) is written out as such, for the row to be refused with it.
fn cell_text(c: &calamine::Data) -> String {
    use calamine::Data;
    match c {
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::DateTime(d) => {
            let serial = d.as_f64();
            let base = time::macros::date!(1899 - 12 - 30);
            (0.0..=MAX_DATE_SERIAL)
                .contains(&serial)
                .then(|| base.checked_add(time::Duration::days(serial.floor() as i64)))
                .flatten()
                .map(|d| d.to_string())
                .unwrap_or_else(|| {
                    if serial.abs() < 1e9 {
                        format!("date serial {serial} (out of range)")
                    } else {
                        format!("date serial {serial:e} (out of range)")
                    }
                })
        }
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

/// The columns of a heading row; an error when a column every row needs is missing.
fn columns_of<'a>(headings: impl Iterator<Item = &'a str>) -> Result<Vec<Option<Column>>, CatalogueError> {
    let columns: Vec<Option<Column>> = headings.map(Column::from_heading).collect();
    let has = |c: Column| columns.contains(&Some(c));
    for (c, name) in
        [(Column::File, "file"), (Column::Category, "category (E01Z101)"), (Column::Title, "title (E01Z111)")]
    {
        if !has(c) {
            return Err(CatalogueError::MissingColumn(name));
        }
    }
    if !has(Column::IdNumber) && !has(Column::PersonId) {
        return Err(CatalogueError::MissingColumn("id_number (A0184) or person_id"));
    }
    Ok(columns)
}

/// Adds a row (skipping blank ones), within [`MAX_ROWS`].
fn push_row<'a>(
    rows: &mut Vec<Row>,
    columns: &[Option<Column>],
    line: usize,
    cells: impl Iterator<Item = &'a str>,
) -> Result<(), CatalogueError> {
    let cells: HashMap<Column, String> =
        columns.iter().zip(cells).filter_map(|(c, v)| c.map(|c| (c, v.trim().to_string()))).collect();
    if cells.values().all(|v| v.is_empty()) {
        return Ok(());
    }
    if rows.len() == MAX_ROWS {
        return Err(CatalogueError::TooManyRows(MAX_ROWS));
    }
    rows.push(Row { line, cells });
    Ok(())
}

/// Normalises the many ways a catalogue writes a date (`2019.07.01`, `2019/7/1`, `2019年7月1日`, `20190701`,
/// `201907`, `2019-7`) to `YYYY[-MM[-DD]]`; anything else is returned as it is, for the date parser to refuse.
/// In the compact national form an unknown day or month may be written as `00` (`20190700`, `20190000`, `201900`):
/// the date is then as precise as its known parts.
pub fn normalize_date(s: &str) -> String {
    let s = s.trim();
    let compact = s.bytes().all(|b| b.is_ascii_digit());
    if compact && (s.len() == 8 || s.len() == 6) {
        let (year, month, day) = (&s[..4], &s[4..6], s.get(6..8));
        return match (month, day) {
            ("00", None | Some("00")) => year.to_string(),
            (_, None | Some("00")) => format!("{year}-{month}"),
            (_, Some(day)) => format!("{year}-{month}-{day}"),
        };
    }
    let parts: Vec<&str> =
        s.split(['.', '/', '-', '年', '月', '日']).map(str::trim).filter(|p| !p.is_empty()).collect();
    if parts.is_empty() || parts.len() > 3 || !parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) {
        return s.to_string();
    }
    let mut out = parts[0].to_string();
    for p in &parts[1..] {
        out.push('-');
        if p.len() == 1 {
            out.push('0');
        }
        out.push_str(p);
    }
    out
}

/// Writes a catalogue under both the national codes and readable names (`E01Z111 材料名称` style headings are
/// not used: one heading row of codes, which the national system reads, followed by the rows). The caller writes
/// the values in the national form as well: 形成时间 `YYYYMMDD` (`PartialDate::compact`), 类别 by its code-table
/// value (`CategoryScheme::table_code`).
pub fn write_csv(rows: &[Vec<(Column, String)>], columns: &[Column]) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let heading: Vec<String> = columns
        .iter()
        .map(|c| {
            c.national_code().map(str::to_string).unwrap_or_else(|| {
                match c {
                    Column::File => "file",
                    Column::PersonId => "person_id",
                    Column::Scheme => "scheme",
                    _ => "tags",
                }
                .to_string()
            })
        })
        .collect();
    let _ = w.write_record(&heading);
    for row in rows {
        let cells: Vec<&str> =
            columns.iter().map(|c| row.iter().find(|(k, _)| k == c).map(|(_, v)| v.as_str()).unwrap_or("")).collect();
        let _ = w.write_record(&cells);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_chinese_and_national_headings_all_work() {
        for heading in [
            "id_number,category,title,formed_on,pages,note,file",
            "身份证号,类别,材料名称,形成时间,页数,备注,文件",
            "A0184,E01Z101,E01Z111,E01Z117,E01Z114,E01Z231,file",
        ] {
            let csv = format!("{heading}\n110101198005170011,9-1,工资审批表,2019.07.01,2,原件,a/b.pdf\n");
            let rows = parse_csv(csv.as_bytes()).unwrap();
            assert_eq!(rows.len(), 1, "{heading}");
            let r = &rows[0];
            assert_eq!(r.line, 2);
            assert_eq!(r.get(Column::IdNumber), Some("110101198005170011"));
            assert_eq!(r.get(Column::Category), Some("9-1"));
            assert_eq!(r.get(Column::Title), Some("工资审批表"));
            assert_eq!(r.get(Column::FormedOn).map(normalize_date).as_deref(), Some("2019-07-01"));
            assert_eq!(r.get(Column::Pages), Some("2"));
            assert_eq!(r.get(Column::File), Some("a/b.pdf"));
        }
    }

    #[test]
    fn gb18030_and_bom_are_read() {
        let (gbk, _, _) = encoding_rs::GB18030.encode("person_id,类别,材料名称,文件\nx,一,履历表,r.pdf\n");
        let rows = parse_csv(&gbk).unwrap();
        assert_eq!(rows[0].get(Column::Title), Some("履历表"));
        let bom = "\u{feff}person_id,category,title,file\nx,1,t,f\n";
        assert_eq!(parse_csv(bom.as_bytes()).unwrap()[0].get(Column::PersonId), Some("x"));
    }

    #[test]
    fn malformed_catalogues_are_refused_clearly() {
        assert_eq!(
            parse_csv(b"category,title,file\n1,t,f\n").err(),
            Some(CatalogueError::MissingColumn("id_number (A0184) or person_id"))
        );
        assert_eq!(
            parse_csv(b"id_number,title,file\n").err(),
            Some(CatalogueError::MissingColumn("category (E01Z101)"))
        );
        assert!(matches!(
            parse_csv(b"\xff\xfe\x00\x00\xff"),
            Err(CatalogueError::Encoding | CatalogueError::MissingColumn(_))
        ));
        assert!(parse_csv(b"").is_err());
    }

    #[test]
    fn an_xlsx_catalogue_reads_like_a_csv() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in ["A0184", "E01Z101", "E01Z111", "E01Z114", "E01Z117", "file"].iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        sheet.write_string(1, 0, "110101198005170011").unwrap();
        sheet.write_string(1, 1, "9-1").unwrap();
        sheet.write_string(1, 2, "工资审批表").unwrap();
        sheet.write_number(1, 3, 2.0).unwrap();
        let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2019, 7, 1).unwrap();
        sheet
            .write_datetime_with_format(1, 4, &date, &rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd"))
            .unwrap();
        sheet.write_string(1, 5, "a/b.pdf").unwrap();
        let rows = parse_xlsx(&book.save_to_buffer().unwrap()).unwrap();
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.line, 2);
        assert_eq!(r.get(Column::IdNumber), Some("110101198005170011"));
        assert_eq!(r.get(Column::Title), Some("工资审批表"));
        assert_eq!(r.get(Column::Pages), Some("2"));
        assert_eq!(r.get(Column::FormedOn), Some("2019-07-01"));
        assert!(parse_xlsx(b"PK not really").is_err());
    }

    #[test]
    fn an_xlsx_date_out_of_range_is_text_to_refuse_not_a_panic() {
        let date_format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        let serials = [1e12, -5.0, 1e300, f64::MAX, 36_500_000.0, 2_958_466.0];
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (c, h) in ["person_id", "category", "title", "formed_on", "file"].iter().enumerate() {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        for (i, serial) in serials.iter().enumerate() {
            let r = i as u32 + 1;
            sheet.write_string(r, 0, "x").unwrap();
            sheet.write_string(r, 1, "1").unwrap();
            sheet.write_string(r, 2, "t").unwrap();
            sheet.write_number_with_format(r, 3, *serial, &date_format).unwrap();
            sheet.write_string(r, 4, "f.pdf").unwrap();
        }
        let rows = parse_xlsx(&book.save_to_buffer().unwrap()).unwrap();
        assert_eq!(rows.len(), serials.len());
        for r in &rows {
            let d = r.get(Column::FormedOn).unwrap();
            assert!(d.contains("out of range"), "{d}");
            assert_eq!(normalize_date(d), d, "left as it is, for the date parser to refuse");
        }
        // The last day a workbook holds is still a date.
        let cell = calamine::Data::DateTime(calamine::ExcelDateTime::new(
            MAX_DATE_SERIAL,
            calamine::ExcelDateTimeType::DateTime,
            false,
        ));
        assert_eq!(cell_text(&cell), "9999-12-31");
    }

    #[test]
    fn a_national_catalogue_round_trips_compact_dates_and_code_table_values() {
        use crate::model::{CategoryScheme, PartialDate};
        let scheme = CategoryScheme::scheme_2018();
        let cases = [("1", "2019-07-01"), ("4-1", "2019-07"), ("9-2", "2019"), ("10", "1998-12-31")];
        let rows: Vec<Vec<(Column, String)>> = cases
            .iter()
            .map(|(cat, date)| {
                let d: PartialDate = date.parse().unwrap();
                vec![
                    (Column::IdNumber, "110101198005170011".to_string()),
                    (Column::Category, scheme.table_code(cat).unwrap()),
                    (Column::Title, format!("材料 {cat}")),
                    (Column::FormedOn, d.compact()),
                    (Column::File, format!("{cat}.pdf")),
                ]
            })
            .collect();
        let columns = [Column::IdNumber, Column::Category, Column::Title, Column::FormedOn, Column::File];
        let text = write_csv(&rows, &columns);
        assert!(text.starts_with("A0184,E01Z101,E01Z111,E01Z117,file\n"), "{text}");
        assert!(text.contains(",0401,材料 4-1,201907,") && text.contains(",01,材料 1,20190701,"), "{text}");
        assert!(text.contains(",0902,材料 9-2,2019,") && text.contains(",10,材料 10,19981231,"), "{text}");
        let back = parse_csv(text.as_bytes()).unwrap();
        assert_eq!(back.len(), cases.len());
        for (row, (cat, date)) in back.iter().zip(cases) {
            assert_eq!(scheme.resolve(row.get(Column::Category).unwrap()).unwrap().code, cat);
            let read: PartialDate = normalize_date(row.get(Column::FormedOn).unwrap()).parse().unwrap();
            assert_eq!(read.to_string(), date);
        }
    }

    #[test]
    fn dates_are_normalised() {
        for (input, want) in [
            ("20190701", "2019-07-01"),
            ("201907", "2019-07"),
            ("2019.7.1", "2019-07-01"),
            ("2019/07", "2019-07"),
            ("2019年7月1日", "2019-07-01"),
            ("2019", "2019"),
            ("20190700", "2019-07"),
            ("20190000", "2019"),
            ("201900", "2019"),
            ("2019年7月", "2019-07"),
            ("2019年", "2019"),
            (" 2019.07 ", "2019-07"),
            ("sometime", "sometime"),
        ] {
            assert_eq!(normalize_date(input), want);
        }
    }
}
