//! The rejected rows written back in the file's own format, each with its line and reason, so a
//! fixed rejected file imports as it is.

use std::{fs::File, io::Write, path::Path};

use anyhow::Context;

use super::{
    Format,
    rows::{Raw, Rejected},
};

/// Writes the rejected rows in the file's own format, with their line and reason; removes a
/// stale file when nothing was rejected.
pub(super) fn write_rejected(path: &Path, source: &Path, format: Format, rejected: &[Rejected]) -> anyhow::Result<()> {
    if rejected.is_empty() {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        };
    }
    let out = File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    match format {
        Format::Csv => {
            let mut header = csv::Reader::from_path(source)?.headers()?.clone();
            let width = header.len();
            header.push_field("line");
            header.push_field("reason");
            let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(out);
            writer.write_record(&header)?;
            for Rejected { line, row, reason } in rejected {
                let mut fields = match row {
                    Raw::Csv(fields) => fields.clone(),
                    Raw::Json(text) => vec![text.clone()],
                };
                if fields.len() < width {
                    fields.resize(width, String::new());
                }
                fields.extend([line.to_string(), reason.clone()]);
                writer.write_record(&fields)?;
            }
            writer.flush()?;
        }
        Format::Jsonl | Format::Roster => {
            let mut writer = std::io::BufWriter::new(out);
            for Rejected { line, row, reason } in rejected {
                let user = match row {
                    Raw::Json(text) => {
                        serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::from(text.as_str()))
                    }
                    Raw::Csv(fields) => serde_json::Value::from(fields.clone()),
                };
                writeln!(writer, "{}", serde_json::json!({ "line": line, "reason": reason, "user": user }))?;
            }
            writer.flush()?;
        }
    }
    Ok(())
}
