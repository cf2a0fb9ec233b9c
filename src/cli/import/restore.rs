//! Importing a Roster export (`cli::record` lines) through the registry's RestoreUsers, keeping
//! every id: lines are read and sent in batches while the answers come back, one per batch, in
//! order; only the batches in flight are held in memory. Lines refused (here, or by the
//! registry) and users skipped as already there are written to the rejected file as they are
//! known, each with its line number and reason.

use std::{
    collections::VecDeque,
    fs::File,
    io::{BufRead, BufReader, BufWriter, Write},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use anyhow::Context;
use indicatif::ProgressBar;
use proto::registry::v1 as pb;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::cli::record::Record;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnConflict {
    /// Leave the user already there as it is.
    Skip,
    /// Replace the user already there with the line, whole.
    Update,
}

impl From<OnConflict> for pb::OnConflict {
    fn from(on_conflict: OnConflict) -> Self {
        match on_conflict {
            OnConflict::Skip => Self::Skip,
            OnConflict::Update => Self::Update,
        }
    }
}

/// Whether a RestoreUsers `left_out` entry is a user skipped as already there.
pub fn is_skip(result: &pb::BatchItemResult) -> bool {
    matches!(&result.result, Some(pb::batch_item_result::Result::Error(e)) if e.code == "skipped_existing")
}

/// Why the registry left a record out, in words: its code, field and message.
pub fn reason(result: &pb::BatchItemResult) -> String {
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

/// What a restore did.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: u64,
    pub created: u64,
    pub updated: u64,
    pub skipped: u64,
    pub refused: u64,
}

/// The rejected file, written as lines are refused or skipped (created on the first one).
struct Rejections {
    path: PathBuf,
    file: Option<BufWriter<File>>,
    refused: u64,
}

impl Rejections {
    fn add(&mut self, line: u64, text: &str, reason: &str, skipped: bool) -> anyhow::Result<()> {
        if self.file.is_none() {
            let file = File::create(&self.path).with_context(|| format!("cannot write {}", self.path.display()))?;
            self.file = Some(BufWriter::new(file));
        }
        if !skipped {
            self.refused += 1;
        }
        let user: Value = serde_json::from_str(text).unwrap_or_else(|_| Value::from(text));
        if let Some(file) = self.file.as_mut() {
            writeln!(file, "{}", serde_json::json!({ "line": line, "reason": reason, "user": user }))?;
        }
        Ok(())
    }

    /// Flushes the file, or removes a stale one when nothing was rejected.
    fn close(&mut self) -> anyhow::Result<()> {
        match self.file.as_mut() {
            Some(file) => file.flush()?,
            None => match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            },
        }
        Ok(())
    }
}

type Shared = Arc<Mutex<Rejections>>;

fn record_rejection(rejections: &Shared, line: u64, text: &str, reason: &str, skipped: bool) -> anyhow::Result<()> {
    rejections.lock().map_err(|_| anyhow::anyhow!("the rejected file's lock"))?.add(line, text, reason, skipped)
}

/// The lines of each batch sent and not yet answered, oldest first.
type InFlight = Arc<Mutex<VecDeque<Vec<(u64, String)>>>>;

/// One line read: what it holds, and the record it makes (or why not).
struct Line {
    number: u64,
    text: String,
    record: Result<pb::RestoreRecord, String>,
}

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

/// Reads every line, sends the records in messages of `batch`, writes the lines refused here.
#[allow(clippy::too_many_arguments)]
fn send_lines(
    file: &Path,
    app_id: String,
    on_conflict: pb::OnConflict,
    batch: usize,
    sender: mpsc::Sender<pb::RestoreUsersRequest>,
    in_flight: InFlight,
    rejections: Shared,
    progress: ProgressBar,
) -> anyhow::Result<u64> {
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let opened = File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let mut reader = BufReader::new(opened);
    let (mut number, mut lines) = (0u64, 0u64);
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
            Err(reason) => record_rejection(&rejections, line.number, &line.text, &reason, false)?,
        }
        if records.len() == batch
            && !send(std::mem::replace(&mut records, Vec::with_capacity(batch)), std::mem::take(&mut held))
        {
            return Ok(lines);
        }
    }
    if !records.is_empty() {
        send(records, held);
    }
    Ok(lines)
}

/// Restores `file` into `app_id`, the refused and skipped lines written to `rejected_path`; an
/// error means it could not run (or stopped), never that lines were refused.
pub async fn restore(
    file: &Path,
    app_id: &str,
    on_conflict: OnConflict,
    batch: usize,
    endpoint: &str,
    rejected_path: &Path,
    progress: ProgressBar,
) -> anyhow::Result<Report> {
    let mut client = crate::cli::registry(endpoint).await?;
    let on_conflict = pb::OnConflict::from(on_conflict);
    let in_flight: InFlight = Arc::default();
    let rejections: Shared =
        Arc::new(Mutex::new(Rejections { path: rejected_path.to_path_buf(), file: None, refused: 0 }));
    let (sender, receiver) = mpsc::channel(2);
    let reader = {
        let (file, app_id, in_flight, rejections) =
            (file.to_path_buf(), app_id.to_owned(), in_flight.clone(), rejections.clone());
        tokio::task::spawn_blocking(move || {
            send_lines(&file, app_id, on_conflict, batch.min(1000), sender, in_flight, rejections, progress)
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
                let at = usize::try_from(u64::from(left.index).saturating_sub(answer.first_index)).ok();
                if let Some((line, text)) = at.and_then(|at| held.get(at)) {
                    record_rejection(&rejections, *line, text, &reason(left), is_skip(left))?;
                }
            }
        }
        anyhow::Ok(())
    }
    .await;
    let lines = reader.await.context("the file reader stopped")??;
    let mut rejections = rejections.lock().map_err(|_| anyhow::anyhow!("the rejected file's lock"))?;
    rejections.close()?;
    answers.with_context(|| {
        format!(
            "after {} users created, {} updated, {} skipped (run again: nothing is created twice)",
            report.created, report.updated, report.skipped
        )
    })?;
    report.lines = lines;
    report.refused = rejections.refused;
    Ok(report)
}

/// Prints the summary.
pub fn finish(report: &Report, rejected_path: &Path) {
    let listed = |count: u64, what: &str| {
        if count == 0 { String::new() } else { format!(" ({what} {})", rejected_path.display()) }
    };
    println!("received:         {}", report.lines);
    println!("created:          {}", report.created);
    println!("updated:          {}", report.updated);
    println!("skipped existing: {}{}", report.skipped, listed(report.skipped, "listed in"));
    println!("rejected:         {}{}", report.refused, listed(report.refused, "rows and reasons in"));
}
