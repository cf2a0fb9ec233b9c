//! `roster users import FILE --app APP_ID`: streams a file of Kore.ai users through the
//! registry's ImportUsers, with a progress bar (hidden when stderr is not a terminal), a summary,
//! and the rejected rows with their reasons in `FILE.rejected` (or `--rejected`).
//!
//! - CSV: a header naming `emailId` and any of Kore's other `userInfo` fields (`orgUserId`,
//!   `firstName`, `lastName`, `companyName`, `dept`, `companyContactPhone`, `worknumber`,
//!   `street`, `suiteNo`, `city`, `zip`, `state`, `country`), `groups` (`;`-separated),
//!   `canCreateBot`, `isDeveloper` (default true) and `sendEmail` (default false). A rejected
//!   file's `line` and `reason` are skipped, so a rejected file, fixed, imports as it is; any
//!   other column refuses the file (nothing in a file is silently left out).
//! - JSON Lines: one Kore user per line (`userInfo`, `groups`, `roles`, `assignBotTasks`,
//!   `canCreateBot`, `isDeveloper`, `sendEmail` with Kore's defaults: true); a `userInfo` field
//!   Kore does not document rejects the row.
//!
//! Members already stored (same email id or org user id) are skipped, so an interrupted import
//! runs again without duplicates. The file is read twice only when the registry refused users:
//! the second pass finds their rows by position, so nothing per row is kept in memory.

mod rejected;
pub(crate) mod restore;
mod rows;

use std::{collections::BTreeMap, io::IsTerminal, path::PathBuf};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use proto::registry::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use rejected::write_rejected;
use rows::{Rejected, Rows};

pub use restore::OnConflict;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Kore.ai users, CSV.
    Csv,
    /// Kore.ai users, JSON Lines.
    Jsonl,
    /// A Roster export (`roster users export`), JSON Lines: every id kept.
    Roster,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// A Roster export (JSON Lines from `roster users export`), or a .csv or .jsonl file of
    /// Kore.ai users; with `--from sunshine`, the Sunshine user ids (or external ids) to pull,
    /// one per line.
    pub file: Option<PathBuf>,
    /// Pull the users from the vendor's own API instead of a file.
    #[arg(long, value_enum, requires_all = ["source_url", "source_token"])]
    pub from: Option<crate::cli::pull::Source>,
    /// The vendor's API origin: `https://api-{APP_ID}.sendbird.com`, `https://{subdomain}.ada.support`,
    /// `https://api.smooch.io` (or a Zendesk host with `/sc`).
    #[arg(long)]
    pub source_url: Option<String>,
    /// Sendbird's API token, Ada's API key, or Sunshine's `KEY_ID:SECRET` (or a JWT).
    #[arg(long, env = "ROSTER_SOURCE_TOKEN", hide_env_values = true)]
    pub source_token: Option<String>,
    /// Sunshine's app id.
    #[arg(long)]
    pub source_app: Option<String>,
    /// Read and map every user, write nothing.
    #[arg(long, requires = "from")]
    pub dry_run: bool,
    /// Where a pull keeps its place (default: .roster-pull-SOURCE-APP.json).
    #[arg(long, requires = "from")]
    pub checkpoint: Option<PathBuf>,
    /// Requests per second to the vendor at most (Sendbird answers 429 above its plan's limit;
    /// the pull then waits for its Retry-After). 0: unpaced.
    #[arg(long, default_value_t = 5.0, requires = "from")]
    pub rate: f64,
    /// Attempts after a failed request (a network error or a 5xx) before the pull stops.
    #[arg(long, default_value_t = 5, requires = "from")]
    pub retries: u32,
    /// The application the users join.
    #[arg(long = "app")]
    pub app_id: String,
    /// Default: from the file's extension and, for JSON Lines, its first line.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// A Roster export's user whose Roster id is already in the application: left as it is, or
    /// replaced whole by the line.
    #[arg(long, value_enum)]
    pub on_conflict: Option<OnConflict>,
    /// Where the rejected rows and their reasons go (default: FILE.rejected).
    #[arg(long)]
    pub rejected: Option<PathBuf>,
    /// Users per message sent to the registry.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=5000))]
    pub batch: u32,
}

/// What the first pass saw: rows read, and those refused before sending.
struct Sent {
    rows: u64,
    rejected: Vec<Rejected>,
}

/// Reads every row, sends the users in messages of `batch`, keeps the rows refused locally.
fn send_rows(
    mut rows: Rows,
    app_id: String,
    batch: usize,
    sender: mpsc::Sender<pb::ImportUsersRequest>,
    progress: ProgressBar,
) -> anyhow::Result<Sent> {
    let mut sent = Sent { rows: 0, rejected: Vec::new() };
    let mut users = Vec::with_capacity(batch);
    let send = |users: Vec<pb::NewUser>| {
        // The call is over (the registry answered, or failed): its answer says why.
        sender.blocking_send(pb::ImportUsersRequest { app_id: app_id.clone(), users }).is_ok()
    };
    while let Some(row) = rows.next_row()? {
        sent.rows += 1;
        progress.set_position(row.offset);
        match row.user {
            Ok(user) => users.push(user),
            Err(reason) => sent.rejected.push(Rejected { line: row.line, row: row.raw, reason }),
        }
        if users.len() == batch {
            progress.set_message(format!("{} rows", sent.rows));
            if !send(std::mem::replace(&mut users, Vec::with_capacity(batch))) {
                return Ok(sent);
            }
        }
    }
    if !users.is_empty() {
        send(users);
    }
    Ok(sent)
}

/// The rows of the users the registry refused (`refused`: position among the users sent, and
/// why), found by reading the file again.
fn refused_rows(mut rows: Rows, mut refused: BTreeMap<u64, String>) -> anyhow::Result<Vec<Rejected>> {
    let mut found = Vec::with_capacity(refused.len());
    let mut index = 0u64;
    while !refused.is_empty()
        && let Some(row) = rows.next_row()?
    {
        if row.user.is_err() {
            continue;
        }
        if let Some(reason) = refused.remove(&index) {
            found.push(Rejected { line: row.line, row: row.raw, reason });
        }
        index += 1;
    }
    Ok(found)
}

fn reason(result: pb::BatchItemResult) -> (u64, String) {
    let text = match result.result {
        Some(pb::batch_item_result::Result::Error(pb::ItemError { code, message, field })) if field.is_empty() => {
            format!("{code}: {message}")
        }
        Some(pb::batch_item_result::Result::Error(pb::ItemError { code, message, field })) => {
            format!("{code} ({field}): {message}")
        }
        _ => "refused".to_owned(),
    };
    (u64::from(result.index), text)
}

fn progress_bar(total_bytes: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total_bytes);
    if let Ok(style) = ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {bytes}/{total_bytes} {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// A JSON Lines file's kind, by its first line: a Roster export's lines have `id` and `user_id`,
/// Kore's have `userInfo`.
fn json_lines_format(file: &std::path::Path) -> anyhow::Result<Format> {
    use std::io::BufRead;
    let opened = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    for line in std::io::BufReader::new(opened).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        let roster = value.get("id").is_some() && value.get("user_id").is_some() && value.get("userInfo").is_none();
        return Ok(if roster { Format::Roster } else { Format::Jsonl });
    }
    Ok(Format::Jsonl)
}

/// Lines in `file`, for the progress bar of a Roster import.
fn count_lines(file: &std::path::Path) -> anyhow::Result<u64> {
    use std::io::Read;
    let mut opened = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let (mut buf, mut lines) = (vec![0u8; 1 << 16], 0u64);
    loop {
        let n = opened.read(&mut buf)?;
        if n == 0 {
            return Ok(lines);
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

/// Runs the import; an error means it could not run (or stopped), never that rows were rejected.
pub async fn run(args: ImportArgs, endpoint: &str) -> anyhow::Result<()> {
    let ImportArgs {
        file,
        from,
        source_url,
        source_token,
        source_app,
        dry_run,
        checkpoint,
        rate,
        retries,
        app_id,
        format,
        on_conflict,
        rejected,
        batch,
    } = args;
    if let Some(source) = from {
        let pull = crate::cli::pull::Pull {
            source,
            source_url: source_url.unwrap_or_default(),
            source_token: source_token.unwrap_or_default(),
            source_app,
            ids: file,
            app_id,
            dry_run,
            checkpoint,
            rate,
            retries,
            on_conflict: on_conflict.unwrap_or(OnConflict::Skip),
            rejected,
        };
        return crate::cli::pull::run(pull, endpoint).await;
    }
    let file = file.context("give the FILE to import, or --from a vendor")?;
    let format = match format {
        Some(format) => format,
        None => match file.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => Format::Csv,
            Some("jsonl" | "ndjson" | "json") => json_lines_format(&file)?,
            _ => anyhow::bail!("cannot tell the format of {}: give --format roster|csv|jsonl", file.display()),
        },
    };
    let rejected_path = rejected.unwrap_or_else(|| {
        let mut name = file.clone().into_os_string();
        name.push(".rejected");
        PathBuf::from(name)
    });
    if format == Format::Roster {
        let lines = count_lines(&file)?;
        let progress = progress_bar(lines);
        let on_conflict = on_conflict.unwrap_or(OnConflict::Skip);
        let report =
            restore::restore(&file, &app_id, on_conflict, batch as usize, endpoint, &rejected_path, progress.clone())
                .await;
        progress.finish_and_clear();
        restore::finish(&report?, &rejected_path);
        return Ok(());
    }
    if on_conflict.is_some() {
        anyhow::bail!("--on-conflict applies to Roster exports; Kore.ai members already stored are skipped");
    }
    let rows = Rows::open(&file, format)?;
    let total_bytes = std::fs::metadata(&file)?.len();

    let mut client = crate::cli::registry(endpoint).await?;

    let progress = progress_bar(total_bytes);
    let (sender, receiver) = mpsc::channel(4);
    let reader = {
        let (app_id, progress) = (app_id.clone(), progress.clone());
        tokio::task::spawn_blocking(move || send_rows(rows, app_id, batch as usize, sender, progress))
    };
    let answer = client.import_users(ReceiverStream::new(receiver)).await;
    let sent = reader.await.context("the file reader stopped")?;
    progress.finish_and_clear();
    let answer = answer.map_err(|s| anyhow::anyhow!("the registry refused the import: {}", s.message()))?.into_inner();
    let sent =
        sent.with_context(|| format!("reading {} (the users before were imported; run again)", file.display()))?;

    let mut rejected = sent.rejected;
    if !answer.failures.is_empty() {
        let refused = answer.failures.into_iter().map(reason).collect();
        rejected.extend(refused_rows(Rows::open(&file, format)?, refused)?);
    }
    rejected.sort_by_key(|r| r.line);
    write_rejected(&rejected_path, &file, format, &rejected)?;

    println!("received:         {}", sent.rows);
    println!("created:          {}", answer.created);
    println!("skipped existing: {}", answer.skipped_existing);
    if rejected.is_empty() {
        println!("rejected:         0");
    } else {
        println!("rejected:         {} (rows and reasons in {})", rejected.len(), rejected_path.display());
    }
    Ok(())
}
