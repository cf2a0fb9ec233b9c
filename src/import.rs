//! `roster users import FILE --app APP_ID`: streams a file of Kore.ai users through the
//! registry's ImportUsers, with a progress bar (hidden when stderr is not a terminal), a summary,
//! and the rejected rows with their reasons in `FILE.rejected` (or `--rejected`).
//!
//! - CSV: a header naming `emailId`, `orgUserId`, `firstName`, `lastName`, `groups` (`;`-separated)
//!   and optionally `canCreateBot`, `isDeveloper` (default true) and `sendEmail` (default false);
//!   other columns are ignored, so a rejected file, fixed, imports as it is.
//! - JSON Lines: one Kore user per line (`userInfo`, `groups`, `roles`, `assignBotTasks`,
//!   `canCreateBot`, `isDeveloper`, `sendEmail` with Kore's defaults: true).
//!
//! Members already stored (same email id or org user id) are skipped, so an interrupted import
//! runs again without duplicates. The file is read twice only when the registry refused users:
//! the second pass finds their rows by position, so nothing per row is kept in memory.

use std::{
    collections::BTreeMap,
    fs::File,
    io::{BufRead, BufReader, IsTerminal, Write},
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context;
use gateway::http::kore::{KoreUser, UserInfo};
use indicatif::{ProgressBar, ProgressStyle};
use proto::registry::v1::{self as pb, registry_service_client::RegistryServiceClient};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// A .csv or .jsonl (JSON Lines) file of Kore.ai users.
    pub file: PathBuf,
    /// The application the users join.
    #[arg(long = "app")]
    pub app_id: String,
    /// Default: from the file's extension.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Where the rejected rows and their reasons go (default: FILE.rejected).
    #[arg(long)]
    pub rejected: Option<PathBuf>,
    /// Users per message sent to the registry.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=5000))]
    pub batch: u32,
}

/// A row of the file that was not imported, and why.
struct Rejected {
    line: u64,
    row: Raw,
    reason: String,
}

/// A row as the file holds it, to write back beside its reason.
enum Raw {
    Csv(Vec<String>),
    Json(String),
}

/// One row of the file: where it is, what it holds, and the user it makes (or why not).
struct Row {
    line: u64,
    raw: Raw,
    user: Result<pb::NewUser, String>,
    /// Bytes of the file read so far, for the progress bar.
    offset: u64,
}

/// The rows of a file, in order; the same file always yields the same rows.
enum Rows {
    Csv { reader: csv::Reader<File>, columns: Columns, record: csv::ByteRecord },
    Jsonl { reader: BufReader<File>, line: u64, offset: u64 },
}

impl Rows {
    fn open(path: &Path, format: Format) -> anyhow::Result<Self> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        Ok(match format {
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
                let headers = reader.headers().with_context(|| format!("{}: no CSV header", path.display()))?;
                let columns = Columns::find(headers).with_context(|| format!("{}", path.display()))?;
                Self::Csv { reader, columns, record: csv::ByteRecord::new() }
            }
            Format::Jsonl => Self::Jsonl { reader: BufReader::new(file), line: 0, offset: 0 },
        })
    }

    fn next_row(&mut self) -> anyhow::Result<Option<Row>> {
        match self {
            Self::Csv { reader, columns, record } => {
                if !reader.read_byte_record(record)? {
                    return Ok(None);
                }
                let (line, offset) = record.position().map_or((0, 0), |p| (p.line(), p.byte()));
                let fields: Vec<String> = record.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
                let user = columns.user(&fields, record);
                Ok(Some(Row { line, raw: Raw::Csv(fields), user, offset }))
            }
            Self::Jsonl { reader, line, offset } => loop {
                let mut bytes = Vec::new();
                let read = reader.read_until(b'\n', &mut bytes)?;
                if read == 0 {
                    return Ok(None);
                }
                *line += 1;
                *offset += read as u64;
                let text = String::from_utf8_lossy(&bytes).trim().to_owned();
                if text.is_empty() {
                    continue;
                }
                let user =
                    serde_json::from_str::<KoreUser>(&text).map_err(|e| e.to_string()).map(KoreUser::into_new_user);
                return Ok(Some(Row { line: *line, raw: Raw::Json(text), user, offset: *offset }));
            },
        }
    }
}

/// Where each known CSV column is.
struct Columns {
    names: Vec<String>,
    index: BTreeMap<&'static str, usize>,
}

impl Columns {
    const KNOWN: [&'static str; 8] =
        ["emailId", "orgUserId", "firstName", "lastName", "groups", "canCreateBot", "isDeveloper", "sendEmail"];

    fn find(headers: &csv::StringRecord) -> anyhow::Result<Self> {
        let names: Vec<String> = headers.iter().map(|h| h.trim().to_owned()).collect();
        let index = Self::KNOWN
            .iter()
            .filter_map(|known| names.iter().position(|n| n.eq_ignore_ascii_case(known)).map(|i| (*known, i)))
            .collect::<BTreeMap<_, _>>();
        anyhow::ensure!(index.contains_key("emailId"), "the CSV header has no emailId column");
        Ok(Self { names, index })
    }

    fn user(&self, fields: &[String], record: &csv::ByteRecord) -> Result<pb::NewUser, String> {
        if std::str::from_utf8(record.as_slice()).is_err() {
            return Err("the row is not valid UTF-8".into());
        }
        if fields.len() != self.names.len() {
            return Err(format!("the row has {} fields, the header {}", fields.len(), self.names.len()));
        }
        let text = |name: &str| self.index.get(name).map(|&i| fields[i].trim()).filter(|v| !v.is_empty());
        let flag = |name: &str, default: bool| match text(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true" | "yes" | "1") => Ok(true),
            Some("false" | "no" | "0") => Ok(false),
            Some(_) => Err(format!("{name} must be true or false")),
        };
        let groups = text("groups").map(|g| g.split(';').map(str::trim).filter(|g| !g.is_empty()).map(str::to_owned));
        Ok(KoreUser {
            user_info: UserInfo {
                email_id: text("emailId").map(str::to_owned),
                org_user_id: text("orgUserId").map(str::to_owned),
                first_name: text("firstName").map(str::to_owned),
                last_name: text("lastName").map(str::to_owned),
            },
            groups: groups.map(Iterator::collect).unwrap_or_default(),
            roles: Vec::new(),
            assign_bot_tasks: Vec::new(),
            can_create_bot: Some(flag("canCreateBot", true)?),
            is_developer: Some(flag("isDeveloper", true)?),
            send_email: Some(flag("sendEmail", false)?),
        }
        .into_new_user())
    }
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

/// Writes the rejected rows in the file's own format, with their line and reason; removes a
/// stale file when nothing was rejected.
fn write_rejected(path: &Path, source: &Path, format: Format, rejected: &[Rejected]) -> anyhow::Result<()> {
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
        Format::Jsonl => {
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

/// Runs the import; an error means it could not run (or stopped), never that rows were rejected.
pub async fn run(args: ImportArgs, endpoint: &str) -> anyhow::Result<()> {
    let ImportArgs { file, app_id, format, rejected, batch } = args;
    let format = match format {
        Some(format) => format,
        None => match file.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => Format::Csv,
            Some("jsonl" | "ndjson") => Format::Jsonl,
            _ => anyhow::bail!("cannot tell the format of {}: give --format csv|jsonl", file.display()),
        },
    };
    let rejected_path = rejected.unwrap_or_else(|| {
        let mut name = file.clone().into_os_string();
        name.push(".rejected");
        PathBuf::from(name)
    });
    let rows = Rows::open(&file, format)?;
    let total_bytes = std::fs::metadata(&file)?.len();

    let channel = tonic::transport::Endpoint::from_shared(endpoint.to_owned())?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .connect()
        .await
        .with_context(|| format!("cannot reach the registry at {endpoint}"))?;
    // The answer lists every refused user: allow for many.
    let mut client = RegistryServiceClient::new(channel).max_decoding_message_size(256 * 1024 * 1024);

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
