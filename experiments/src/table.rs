//! A result CSV file read back for drawing: a header and rows of cells.

use crate::results::{ResultDir, WriteError};

/// A CSV file as a header and rows of cells.
pub(crate) struct Table {
    pub(crate) header: Vec<String>,
    pub(crate) rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn read(dir: &ResultDir, name: &str) -> Result<Table, WriteError> {
        let path = dir.path().join(name);
        let error = |e: csv::Error| WriteError { path: path.clone(), message: e.to_string() };
        let mut reader = csv::Reader::from_path(&path).map_err(error)?;
        let header = reader.headers().map_err(error)?.iter().map(String::from).collect();
        let rows = reader
            .records()
            .map(|r| r.map(|r| r.iter().map(String::from).collect()))
            .collect::<Result<_, _>>()
            .map_err(error)?;
        Ok(Table { header, rows })
    }

    pub(crate) fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// The rows where each column named in `at` holds the value given with it.
    pub(crate) fn at(&self, at: &[(String, String)]) -> Table {
        let fixed: Vec<(Option<usize>, &str)> =
            at.iter().map(|(key, value)| (self.column(key), value.as_str())).collect();
        let rows = self
            .rows
            .iter()
            .filter(|row| fixed.iter().all(|&(col, value)| col.is_some_and(|c| row[c] == value)))
            .cloned()
            .collect();
        Table { header: self.header.clone(), rows }
    }

    /// Rows grouped by the value of column `by` (in order of first appearance), or all rows.
    pub(crate) fn groups(&self, by: Option<&str>) -> Vec<(Option<String>, Vec<&Vec<String>>)> {
        let Some(col) = by.and_then(|b| self.column(b)) else {
            return vec![(None, self.rows.iter().collect())];
        };
        let mut groups: Vec<(Option<String>, Vec<&Vec<String>>)> = Vec::new();
        for row in &self.rows {
            match groups.iter_mut().find(|(v, _)| v.as_deref() == Some(row[col].as_str())) {
                Some((_, rows)) => rows.push(row),
                None => groups.push((Some(row[col].clone()), vec![row])),
            }
        }
        groups
    }
}
