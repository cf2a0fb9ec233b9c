//! Importing a Roster export (`cli::record` lines) through the registry's RestoreUsers, keeping
//! every id: lines are read and sent in batches while the answers come back, one per batch, in
//! order; only the batches in flight are held in memory. Lines refused (here, or by the
//! registry) and users skipped as already there go to the rejected file with their reasons.

use std::{
    collections::VecDeque,
    fs::File,
    io::{BufRead, BufReader},
    path::Path,
    sync::{Arc, Mutex},
};

use anyhow::Context;
use indicatif::ProgressBar;
use proto::registry::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{
    Format,
    rejected::write_rejected,
    rows::{Raw, Rejected},
};
use crate::cli::record::Record;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnConflict {
    /// Leave the user already there as it is.
    Skip,
    /// Replace the user already there with the line, whole.
    Update,
}

/// What a restore did.
#[derive(Default)]
pub struct Report {
    pub lines: u64,
    pub created: u64,
    pub updated: u64,
    pub skipped: u64,
    /// Refused lines and skipped users, with their lines and why.
    pub rejected: Vec<Rejected>,
}

/// One line read: what it holds, and the record it makes (or why not).
struct Line {
    number: u64,
    text: String,
    record: Result<pb::RestoreRecord, String>,
}

/// The lines of each batch sent and not yet answered, oldest first.
type InFlight = Arc<Mutex<VecDeque<Vec<(u64, String)>>>>;

fn read_line(reader: &mut BufReader<File>, number: &mut u64, dir: &Path, app_id: &str) -> anyhow::Result<Option<Line>> {
    let mut text = String::new();
    loop {
        text.clear();
        if reader.read_line(&mut text)? == 0 {
            return Ok(None);
        }
        *number += 1;
        if !text.trim().is_empty() {
            break;
        }
    }
    let text = text.trim_end().to_owned();
    let record = serde_json::from_str::<Record>(&text).map_err(|e| format!("not a Roster export line: {e}")).and_then(
        |record| {
            let image = record.profile_image.clone();
            let mut restore = pb::RestoreRecord::from(record.into_exported(app_id)?);
            if let Some(image) = image {
                let path = dir.join(&image);
                let bytes = std::fs::read(&path).map_err(|e| format!("profile_image {}: {e}", path.display()))?;
                if let Some(user) = restore.user.as_mut() {
                    user.profile_image = Some(bytes);
                }
            }
            Ok(restore)
        },
    );
    Ok(Some(Line { number: *number, text, record }))
}

/// Reads every line, sends the records in messages of `batch`, keeps the lines refused here.
#[allow(clippy::too_many_arguments)]
fn send_lines(
    file: &Path,
    app_id: String,
    on_conflict: pb::OnConflict,
    batch: usize,
    sender: mpsc::Sender<pb::RestoreUsersRequest>,
    in_flight: InFlight,
    progress: ProgressBar,
) -> anyhow::Result<(u64, Vec<Rejected>)> {
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let opened = File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let mut reader = BufReader::new(opened);
    let (mut number, mut lines, mut rejected) = (0u64, 0u64, Vec::new());
    let mut records = Vec::with_capacity(batch);
    let mut held = Vec::with_capacity(batch);
    let send = |records: Vec<pb::RestoreRecord>, held: Vec<(u64, String)>| {
        in_flight.lock().map(|mut f| f.push_back(held)).ok();
        let request = pb::RestoreUsersRequest { app_id: app_id.clone(), records, on_conflict: on_conflict as i32 };
        sender.blocking_send(request).is_ok()
    };
    while let Some(line) = read_line(&mut reader, &mut number, &dir, &app_id)? {
        lines += 1;
        progress.inc(1);
        match line.record {
            Ok(record) => {
                records.push(record);
                held.push((line.number, line.text));
            }
            Err(reason) => rejected.push(Rejected { line: line.number, row: Raw::Json(line.text), reason }),
        }
        if records.len() == batch
            && !send(std::mem::replace(&mut records, Vec::with_capacity(batch)), std::mem::take(&mut held))
        {
            return Ok((lines, rejected));
        }
    }
    if !records.is_empty() {
        send(records, held);
    }
    Ok((lines, rejected))
}

fn reason(result: &pb::BatchItemResult) -> String {
    match &result.result {
        Some(pb::batch_item_result::Result::Error(pb::ItemError { code, message, field })) if field.is_empty() => {
            format!("{code}: {message}")
        }
        Some(pb::batch_item_result::Result::Error(pb::ItemError { code, message, field })) => {
            format!("{code} ({field}): {message}")
        }
        _ => "refused".to_owned(),
    }
}

/// Restores `file` into `app_id`; an error means it could not run (or stopped), never that lines
/// were refused.
pub async fn restore(
    file: &Path,
    app_id: &str,
    on_conflict: OnConflict,
    batch: usize,
    endpoint: &str,
    progress: ProgressBar,
) -> anyhow::Result<Report> {
    let mut client = crate::cli::export::registry(endpoint).await?;
    let on_conflict = match on_conflict {
        OnConflict::Skip => pb::OnConflict::Skip,
        OnConflict::Update => pb::OnConflict::Update,
    };
    let in_flight: InFlight = Arc::default();
    let (sender, receiver) = mpsc::channel(2);
    let reader = {
        let (file, app_id, in_flight, progress) = (file.to_path_buf(), app_id.to_owned(), in_flight.clone(), progress);
        tokio::task::spawn_blocking(move || {
            send_lines(&file, app_id, on_conflict, batch.min(1000), sender, in_flight, progress)
        })
    };
    let mut report = Report::default();
    let answers = async {
        let mut answers = client
            .restore_users(ReceiverStream::new(receiver))
            .await
            .map_err(|s| anyhow::anyhow!("the registry refused the import: {}", s.message()))?
            .into_inner();
        while let Some(answer) =
            answers.message().await.map_err(|s| anyhow::anyhow!("the registry stopped the import: {}", s.message()))?
        {
            let held = in_flight.lock().ok().and_then(|mut f| f.pop_front()).unwrap_or_default();
            report.created += u64::from(answer.created);
            report.updated += u64::from(answer.updated);
            report.skipped += u64::from(answer.skipped);
            for left in &answer.left_out {
                let at =
                    usize::try_from(u64::from(left.index).saturating_sub(answer.first_index)).unwrap_or(usize::MAX);
                if let Some((line, text)) = held.get(at) {
                    report.rejected.push(Rejected { line: *line, row: Raw::Json(text.clone()), reason: reason(left) });
                }
            }
        }
        anyhow::Ok(())
    }
    .await;
    let (lines, mut rejected) = reader.await.context("the file reader stopped")??;
    answers.with_context(|| {
        format!(
            "after {} users created, {} updated, {} skipped (run again: nothing is created twice)",
            report.created, report.updated, report.skipped
        )
    })?;
    report.lines = lines;
    report.rejected.append(&mut rejected);
    report.rejected.sort_by_key(|r| r.line);
    Ok(report)
}

/// Writes the rejected lines (refused, or skipped as already there) and prints the summary.
pub fn finish(report: &Report, rejected_path: &Path, file: &Path) -> anyhow::Result<()> {
    write_rejected(rejected_path, file, Format::Jsonl, &report.rejected)?;
    let skipped = report.skipped as usize;
    println!("received:         {}", report.lines);
    println!("created:          {}", report.created);
    println!("updated:          {}", report.updated);
    println!("skipped existing: {}", report.skipped);
    let refused = report.rejected.len() - skipped.min(report.rejected.len());
    if report.rejected.is_empty() {
        println!("rejected:         0");
    } else {
        println!("rejected:         {refused} (rows and reasons in {})", rejected_path.display());
    }
    Ok(())
}
