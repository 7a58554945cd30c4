//! CSV tables: numeric feature columns plus one label column (integer class ids, or class
//! names mapped to ids in sorted order). Fields may be wrapped in double quotes; quoted fields
//! may not contain the delimiter.

use crate::dataset::InMemoryDataset;
use crate::error::{format_err, read_file, DataError, Result};
use std::path::Path;

/// Which column holds the label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelColumn {
    First,
    Last,
    /// 0-based column index.
    Index(usize),
    /// A header name (the file must have a header).
    Name(String),
}

/// How to read a CSV file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvConfig {
    pub label: LabelColumn,
    pub delimiter: char,
    /// `None` detects a header: the first row is one when a feature field is not a number.
    pub header: Option<bool>,
}

impl Default for CsvConfig {
    fn default() -> Self {
        CsvConfig {
            label: LabelColumn::Last,
            delimiter: ',',
            header: None,
        }
    }
}

fn fields(line: &str, delim: char) -> Vec<&str> {
    line.split(delim)
        .map(|f| f.trim().trim_matches('"').trim())
        .collect()
}

/// Parses CSV text; `what` names the source in errors (with 1-based line and column).
pub fn parse_csv(text: &str, what: &str, cfg: &CsvConfig) -> Result<InMemoryDataset> {
    let mut rows = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, fields(l, cfg.delimiter)));
    let Some((first_line, first)) = rows.next() else {
        return Err(format_err(what, "no rows"));
    };
    let ncol = first.len();
    if ncol < 2 {
        return Err(format_err(
            what,
            format!("line {first_line}: need features and a label, found {ncol} column"),
        ));
    }
    let label_col = match &cfg.label {
        LabelColumn::First => 0,
        LabelColumn::Last => ncol - 1,
        LabelColumn::Index(i) if *i < ncol => *i,
        LabelColumn::Index(i) => {
            return Err(format_err(
                what,
                format!("label column {i} is past the {ncol} columns"),
            ));
        }
        LabelColumn::Name(n) => first.iter().position(|f| f == n).ok_or_else(|| {
            format_err(
                what,
                format!("no column named '{n}' in the header {first:?}"),
            )
        })?,
    };
    let has_header = match (&cfg.header, &cfg.label) {
        (Some(h), _) => *h,
        (None, LabelColumn::Name(_)) => true,
        (None, _) => first
            .iter()
            .enumerate()
            .any(|(c, f)| c != label_col && f.parse::<f64>().is_err()),
    };
    let data_rows: Vec<(usize, Vec<&str>)> = if has_header {
        rows.collect()
    } else {
        std::iter::once((first_line, first)).chain(rows).collect()
    };
    let mut feats = Vec::with_capacity(data_rows.len() * (ncol - 1));
    let mut raw_labels = Vec::with_capacity(data_rows.len());
    for (line, row) in &data_rows {
        if row.len() != ncol {
            return Err(DataError::Shape(format!(
                "{what}: line {line} has {} columns, expected {ncol}",
                row.len()
            )));
        }
        for (c, f) in row.iter().enumerate() {
            if c == label_col {
                raw_labels.push(*f);
                continue;
            }
            let v: f64 = f.parse().map_err(|_| {
                format_err(
                    what,
                    format!("line {line} column {}: '{f}' is not a number", c + 1),
                )
            })?;
            if !v.is_finite() {
                return Err(DataError::NonFinite {
                    what: what.to_string(),
                    index: format!("line {line} column {}", c + 1),
                    value: v,
                });
            }
            feats.push(v as f32);
        }
    }
    let (labels, names) = labels_of(&raw_labels);
    let classes = if names.is_empty() {
        labels.iter().max().map_or(0, |&m| m.max(-1) + 1) as usize
    } else {
        names.len()
    };
    if let Some(i) = labels.iter().position(|&l| l < 0) {
        return Err(format_err(
            what,
            format!("line {}: negative label {}", data_rows[i].0, labels[i]),
        ));
    }
    let mut d = InMemoryDataset::new(what, vec![ncol - 1], feats, labels, classes)?;
    d.class_names = names;
    Ok(d)
}

/// Integer labels as they are; otherwise names mapped to their sorted position.
fn labels_of(raw: &[&str]) -> (Vec<i64>, Vec<String>) {
    if let Ok(ints) = raw
        .iter()
        .map(|s| s.parse::<i64>())
        .collect::<Result<Vec<_>, _>>()
    {
        return (ints, Vec::new());
    }
    let mut names: Vec<String> = raw.iter().map(|s| s.to_string()).collect();
    names.sort();
    names.dedup();
    let ids = raw
        .iter()
        .map(|s| names.binary_search_by(|n| n.as_str().cmp(s)).unwrap_or(0) as i64)
        .collect();
    (ids, names)
}

/// Reads a CSV file (UTF-8).
pub fn read_csv(path: &Path, cfg: &CsvConfig) -> Result<InMemoryDataset> {
    let what = path.display().to_string();
    let bytes = read_file(path)?;
    let text =
        std::str::from_utf8(&bytes).map_err(|e| format_err(&what, format!("not UTF-8: {e}")))?;
    parse_csv(text, &what, cfg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dataset;

    #[test]
    fn reads_numeric_table_with_detected_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "a,b,label\n1,2.5,0\n\n-3,4e1,2\n").unwrap();
        let d = read_csv(&p, &CsvConfig::default()).unwrap();
        assert_eq!(
            (d.len(), d.sample_shape(), d.num_classes()),
            (2, &[2usize][..], 3)
        );
        assert_eq!(d.features(), &[1.0, 2.5, -3.0, 40.0]);
        assert_eq!(d.labels(), &[0, 2]);
        let no_header = parse_csv(
            "0;1;2\n1;3;4",
            "x",
            &CsvConfig {
                label: LabelColumn::First,
                delimiter: ';',
                header: None,
            },
        )
        .unwrap();
        assert_eq!(
            (no_header.features(), no_header.labels()),
            (&[1.0, 2.0, 3.0, 4.0][..], &[0, 1][..])
        );
    }

    #[test]
    fn string_labels_and_named_columns() {
        let cfg = CsvConfig {
            label: LabelColumn::Name("species".into()),
            ..Default::default()
        };
        let d = parse_csv(
            "species,x\n\"setosa\",1\nvirginica,2\nsetosa,3\n",
            "iris",
            &cfg,
        )
        .unwrap();
        assert_eq!(d.class_names, vec!["setosa", "virginica"]);
        assert_eq!(d.labels(), &[0, 1, 0]);
        assert_eq!(d.features(), &[1.0, 2.0, 3.0]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let cfg = CsvConfig::default();
        let e = |t: &str| parse_csv(t, "d.csv", &cfg).unwrap_err().to_string();
        let nan = e("1,2,0\n3,NaN,1\n");
        assert!(
            nan.contains("d.csv") && nan.contains("line 2 column 2") && nan.contains("NaN"),
            "{nan}"
        );
        assert!(e("1,2,0\n3,inf,1\n").contains("line 2 column 2"));
        assert!(e("1,2,0\n3,1\n").contains("line 2 has 2 columns, expected 3"));
        assert!(e("x,y,z\n1,zz,0\n").contains("'zz' is not a number"));
        assert!(e("").contains("no rows"));
        assert!(e("1,2,-1\n").contains("negative label"));
    }
}
