//! `roster users import --from sendbird|sunshine|ada --source-url URL --source-token TOKEN
//! --app APP`: pages through the vendor's own API and restores each user into Roster keeping its
//! vendor id (`map`), one RestoreUsers message per page. After each page is written a checkpoint
//! records the vendor's cursor, so an interrupted pull resumes where it stopped; requests are
//! paced (`--rate`), a 429 or 503 is waited out for its `Retry-After`, other failures are retried
//! `--retries` times with backoff. A second pull creates nothing twice: every user comes back
//! with the same Roster id and is skipped (or, with `--on-conflict update`, replaced).
//!
//! Sunshine has no call that lists users, so its pull reads the ids (or external ids) to fetch
//! from a file, one per line, and fetches each.

pub mod map;

use std::{
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use proto::registry::v1 as pb;
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::{sync::mpsc, time::Instant};
use tokio_stream::wrappers::ReceiverStream;

use crate::cli::import::{OnConflict, restore};
pub use map::Source;

/// Users asked for per page (the most Sendbird and Ada give).
const PAGE: usize = 100;

/// What a pull needs besides the target application.
pub struct Pull {
    pub source: Source,
    pub source_url: String,
    pub source_token: String,
    /// Sunshine's app id.
    pub source_app: Option<String>,
    /// Sunshine: the file of user ids (or external ids) to fetch.
    pub ids: Option<PathBuf>,
    pub app_id: String,
    pub dry_run: bool,
    pub checkpoint: Option<PathBuf>,
    /// Requests per second to the vendor at most.
    pub rate: f64,
    pub retries: u32,
    pub on_conflict: OnConflict,
    pub rejected: Option<PathBuf>,
}

/// Where an interrupted pull goes on, and what it had done.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Checkpoint {
    source: String,
    source_url: String,
    app_id: String,
    /// Sendbird's `next` token, Ada's `next_page_url`, or Sunshine's count of ids done.
    cursor: Option<String>,
    counts: Counts,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Counts {
    pages: u64,
    received: u64,
    created: u64,
    updated: u64,
    skipped: u64,
    failed: u64,
}

impl Counts {
    fn add(&mut self, page: &Counts) {
        self.pages += page.pages;
        self.received += page.received;
        self.created += page.created;
        self.updated += page.updated;
        self.skipped += page.skipped;
        self.failed += page.failed;
    }
}

/// One page of vendor users and the cursor after it (`None`: the last page).
struct Page {
    users: Vec<Value>,
    next: Option<String>,
}

/// Spaces requests at least `interval` apart.
struct Pacer {
    interval: Duration,
    next: Instant,
}

impl Pacer {
    fn new(rate: f64) -> Self {
        // At most an hour apart: a tiny rate must not overflow a Duration.
        let interval = if rate.is_finite() && rate > 0.0 {
            Duration::from_secs_f64((1.0 / rate).min(3600.0))
        } else {
            Duration::ZERO
        };
        Self { interval, next: Instant::now() }
    }

    async fn wait(&mut self) {
        tokio::time::sleep_until(self.next).await;
        self.next = Instant::now() + self.interval;
    }
}

/// The vendor's API, with the pull's pace and patience.
struct Vendor {
    http: reqwest::Client,
    source: Source,
    base: Url,
    token: String,
    source_app: Option<String>,
    pacer: Pacer,
    retries: u32,
    /// 429 and 503 answers waited out so far, reported at the end.
    waits: u64,
}

/// The most a `Retry-After` is honoured for, and the longest run of them before giving up.
const MAX_WAIT: Duration = Duration::from_secs(120);
const MAX_WAITS_IN_A_ROW: u32 = 30;

impl Vendor {
    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.source {
            Source::Sendbird => request.header("Api-Token", &self.token),
            Source::Ada => request.bearer_auth(&self.token),
            Source::Sunshine => match self.token.split_once(':') {
                Some((key, secret)) => request.basic_auth(key, Some(secret)),
                None => request.bearer_auth(&self.token),
            },
        }
    }

    /// GETs `url`: the JSON answered, or `None` for a 404 when `missing_ok` (a Sunshine id that
    /// is not there; a list that answers 404 is a wrong URL and stops the pull). Waits out
    /// 429/503, retries network errors and 5xx.
    async fn get(&mut self, url: Url, missing_ok: bool) -> anyhow::Result<Option<Value>> {
        let (mut failures, mut waits) = (0u32, 0u32);
        loop {
            self.pacer.wait().await;
            let answer = self.authorized(self.http.get(url.clone())).send().await;
            let retry_in = match answer {
                Ok(response) if response.status().is_success() => {
                    return Ok(Some(response.json().await.with_context(|| format!("{url}: not JSON"))?));
                }
                Ok(response) if missing_ok && response.status() == StatusCode::NOT_FOUND => return Ok(None),
                Ok(response)
                    if matches!(response.status(), StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE) =>
                {
                    waits += 1;
                    self.waits += 1;
                    if waits > MAX_WAITS_IN_A_ROW {
                        bail!("{url}: still {} after {MAX_WAITS_IN_A_ROW} waits", response.status());
                    }
                    let after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map_or(Duration::from_secs(1), Duration::from_secs);
                    after.min(MAX_WAIT)
                }
                Ok(response) if response.status().is_client_error() => {
                    let status = response.status();
                    let body = response.text().await.unwrap_or_default();
                    bail!("{url}: {status}: {}", body.chars().take(300).collect::<String>());
                }
                Ok(response) => {
                    failures += 1;
                    if failures > self.retries {
                        bail!("{url}: {} after {} attempts", response.status(), failures);
                    }
                    Duration::from_millis(500 << failures.min(6))
                }
                Err(err) => {
                    failures += 1;
                    if failures > self.retries {
                        return Err(anyhow::Error::new(err).context(format!("{url} after {failures} attempts")));
                    }
                    Duration::from_millis(500 << failures.min(6))
                }
            };
            tokio::time::sleep(retry_in).await;
        }
    }

    /// The page after `cursor` (`None`: the first).
    async fn page(&mut self, cursor: Option<&str>, ids: &mut Option<Ids>) -> anyhow::Result<Page> {
        match self.source {
            Source::Sendbird => {
                let mut url = self.base.join("v3/users")?;
                url.query_pairs_mut()
                    .append_pair("limit", &PAGE.to_string())
                    .append_pair("active_mode", "all")
                    .append_pair("show_bot", "true");
                if let Some(token) = cursor {
                    url.query_pairs_mut().append_pair("token", token);
                }
                let body = self.get(url, false).await?.unwrap_or_default();
                let users = body.get("users").and_then(Value::as_array).cloned().unwrap_or_default();
                let next = body.get("next").and_then(Value::as_str).filter(|n| !n.is_empty()).map(str::to_owned);
                Ok(Page { users, next })
            }
            Source::Ada => {
                let url = match cursor {
                    Some(next) => {
                        let url = Url::parse(next).context("Ada's next_page_url")?;
                        if url.origin() != self.base.origin() {
                            bail!(
                                "Ada's next page is on another host ({}): not sending the token there",
                                url.origin().ascii_serialization()
                            );
                        }
                        url
                    }
                    None => {
                        let mut url = self.base.join("api/v2/end-users/")?;
                        url.query_pairs_mut().append_pair("limit", &PAGE.to_string());
                        url
                    }
                };
                let body = self.get(url, false).await?.unwrap_or_default();
                let users = body.get("data").and_then(Value::as_array).cloned().unwrap_or_default();
                let next = body.pointer("/meta/next_page_url").and_then(Value::as_str).map(str::to_owned);
                Ok(Page { users, next })
            }
            Source::Sunshine => {
                let ids = ids.as_mut().context("a Sunshine pull reads its ids from FILE")?;
                let done: u64 = cursor.map(str::parse).transpose().context("the checkpoint's cursor")?.unwrap_or(0);
                let wanted = ids.take(done, PAGE)?;
                let app = self.source_app.clone().context("a Sunshine pull needs --source-app")?;
                let mut users = Vec::with_capacity(wanted.len());
                for id in &wanted {
                    let mut url = self.base.clone();
                    url.path_segments_mut()
                        .map_err(|()| anyhow::anyhow!("--source-url cannot be a base"))?
                        .pop_if_empty()
                        .extend(["v2", "apps", &app, "users", id]);
                    users.push(match self.get(url, true).await? {
                        Some(body) => body.get("user").cloned().unwrap_or(body),
                        None => serde_json::json!({ "not_found": id }),
                    });
                }
                let consumed = done + wanted.len() as u64;
                Ok(Page { users, next: (wanted.len() == PAGE).then(|| consumed.to_string()) })
            }
        }
    }
}

/// Sunshine's ids, one per line, read forward.
struct Ids {
    lines: std::io::Lines<BufReader<File>>,
    read: u64,
}

impl Ids {
    fn open(path: &Path) -> anyhow::Result<Self> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        Ok(Self { lines: BufReader::new(file).lines(), read: 0 })
    }

    /// Up to `count` ids after the first `done` (blank lines skipped, not counted).
    fn take(&mut self, done: u64, count: usize) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let Some(line) = self.lines.next().transpose()? else { break };
            let id = line.trim();
            if id.is_empty() {
                continue;
            }
            self.read += 1;
            if self.read > done {
                out.push(id.to_owned());
            }
        }
        Ok(out)
    }
}

fn default_checkpoint(source: Source, app_id: &str) -> PathBuf {
    PathBuf::from(format!(".roster-pull-{}-{app_id}.json", source.name()))
}

fn progress_bar() -> ProgressBar {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{elapsed_precise} {spinner} {pos} users read {per_sec} {msg}") {
        bar.set_style(style);
    }
    bar
}

pub async fn run(pull: Pull, endpoint: &str) -> anyhow::Result<()> {
    let checkpoint_path = pull.checkpoint.clone().unwrap_or_else(|| default_checkpoint(pull.source, &pull.app_id));
    let mut rejected_path = pull
        .rejected
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("roster-pull-{}-{}.rejected", pull.source.name(), pull.app_id)));
    if pull.dry_run {
        // A dry run leaves a real pull's files alone.
        let mut name = rejected_path.into_os_string();
        name.push(".dry-run");
        rejected_path = PathBuf::from(name);
    }
    let mut base = Url::parse(&pull.source_url).context("--source-url")?;
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    let fresh = || Checkpoint {
        source: pull.source.name().into(),
        source_url: pull.source_url.clone(),
        app_id: pull.app_id.clone(),
        ..Default::default()
    };
    let mut state = match std::fs::read(&checkpoint_path) {
        // A dry run reads everything, from the start.
        _ if pull.dry_run => fresh(),
        Ok(bytes) => {
            let state: Checkpoint = serde_json::from_slice(&bytes).context("the checkpoint")?;
            if state.source != pull.source.name() || state.source_url != pull.source_url || state.app_id != pull.app_id
            {
                bail!(
                    "{} is a checkpoint of another pull ({} {} into {}): remove it or give --checkpoint",
                    checkpoint_path.display(),
                    state.source,
                    state.source_url,
                    state.app_id
                );
            }
            eprintln!("resuming from {} after {} pages", checkpoint_path.display(), state.counts.pages);
            state
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => fresh(),
        Err(e) => return Err(e).context("the checkpoint"),
    };
    let resuming = state.counts.pages > 0;
    let mut vendor = Vendor {
        http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?,
        source: pull.source,
        base,
        token: pull.source_token.clone(),
        source_app: pull.source_app.clone(),
        pacer: Pacer::new(pull.rate),
        retries: pull.retries,
        waits: 0,
    };
    let mut ids = pull.ids.as_deref().map(Ids::open).transpose()?;
    if pull.source == Source::Sunshine && ids.is_none() {
        bail!("Sunshine has no call that lists users: give the ids (or external ids) to pull in FILE, one per line");
    }
    let mut rejected = if resuming {
        OpenOptions::new().append(true).create(true).open(&rejected_path)
    } else {
        File::create(&rejected_path)
    }
    .with_context(|| format!("cannot write {}", rejected_path.display()))?;

    // One RestoreUsers stream for the whole pull, in lockstep: a page is sent, its answer read.
    let (sender, receiver) = mpsc::channel::<pb::RestoreUsersRequest>(1);
    let mut answers = if pull.dry_run {
        None
    } else {
        let mut client = crate::cli::registry(endpoint).await?;
        let stream = client
            .restore_users(ReceiverStream::new(receiver))
            .await
            .map_err(|s| anyhow::anyhow!("the registry refused the import: {}", s.message()))?;
        Some(stream.into_inner())
    };
    let on_conflict = pb::OnConflict::from(pull.on_conflict);
    let progress = progress_bar();
    progress.set_position(state.counts.received);
    let outcome: anyhow::Result<()> = async {
        loop {
            let page = vendor.page(state.cursor.as_deref(), &mut ids).await?;
            // What this page adds, kept apart until it is written: a page that fails counts
            // nothing, and its retry after a resume counts it once.
            let mut counts = Counts { pages: 1, received: page.users.len() as u64, ..Default::default() };
            let mut refused: Vec<Value> = Vec::new();
            let now = platform::clock::now_millis();
            let mut records = Vec::with_capacity(page.users.len());
            let mut held = Vec::with_capacity(page.users.len());
            for user in &page.users {
                let mapped = match pull.source {
                    Source::Sendbird => map::sendbird(user, &pull.app_id, now),
                    Source::Ada => map::ada(user, &pull.app_id, now),
                    Source::Sunshine if user.get("not_found").is_some() => Err("not found at the source".to_owned()),
                    Source::Sunshine => map::sunshine(user, &pull.app_id, now),
                };
                let restored = mapped.and_then(|record| {
                    let line = serde_json::to_value(&record).map_err(|e| e.to_string())?;
                    let exported = record.into_exported(&pull.app_id)?;
                    Ok((pb::RestoreRecord::from(exported), line))
                });
                match restored {
                    Ok((record, line)) => {
                        records.push(record);
                        held.push(line);
                    }
                    Err(reason) => refused.push(serde_json::json!({ "reason": reason, "user": user })),
                }
            }
            if let Some(answers) = answers.as_mut()
                && !records.is_empty()
            {
                let request =
                    pb::RestoreUsersRequest { app_id: pull.app_id.clone(), records, on_conflict: on_conflict as i32 };
                sender.send(request).await.map_err(|_| anyhow::anyhow!("the registry closed the import"))?;
                let answer = answers
                    .message()
                    .await
                    .map_err(|s| anyhow::anyhow!("the registry stopped the import: {}", s.message()))?
                    .context("the registry ended the import early")?;
                counts.created = u64::from(answer.created);
                counts.updated = u64::from(answer.updated);
                counts.skipped = u64::from(answer.skipped);
                for left in answer.left_out.iter().filter(|left| !restore::is_skip(left)) {
                    let at = u64::from(left.index).saturating_sub(answer.first_index);
                    let user = usize::try_from(at).ok().and_then(|at| held.get(at)).cloned().unwrap_or_default();
                    refused.push(serde_json::json!({ "reason": restore::reason(left), "user": user }));
                }
            }
            counts.failed = refused.len() as u64;
            for line in &refused {
                writeln!(rejected, "{line}")?;
            }
            state.counts.add(&counts);
            state.cursor = page.next.clone();
            progress.set_position(state.counts.received);
            if page.next.is_none() {
                return Ok(());
            }
            if !pull.dry_run {
                rejected.flush()?;
                write_checkpoint(&checkpoint_path, &state)?;
            }
        }
    }
    .await;
    progress.finish_and_clear();
    drop(sender);
    rejected.flush()?;
    let counts = &state.counts;
    if let Err(err) = outcome {
        // The checkpoint on disk is the one written after the last page written.
        let resume = if pull.dry_run || counts.pages == 0 {
            "run the same command again".to_owned()
        } else {
            format!("run the same command again to resume from {}", checkpoint_path.display())
        };
        return Err(err.context(format!(
            "the pull stopped after {} pages ({} users read); {resume}",
            counts.pages, counts.received
        )));
    }
    if !pull.dry_run {
        let _ = std::fs::remove_file(&checkpoint_path);
    }
    if counts.failed == 0 {
        let _ = std::fs::remove_file(&rejected_path);
    }
    println!("pages:            {}", counts.pages);
    println!("received:         {}", counts.received);
    if pull.dry_run {
        println!("readable:         {} (would be imported; nothing was written)", counts.received - counts.failed);
    } else {
        println!("created:          {}", counts.created);
        println!("updated:          {}", counts.updated);
        println!("skipped existing: {}", counts.skipped);
    }
    if counts.failed == 0 {
        println!("failed:           0");
    } else {
        println!("failed:           {} (users and reasons in {})", counts.failed, rejected_path.display());
    }
    if vendor.waits > 0 {
        println!("waited out:       {} rate-limit answers from the source", vendor.waits);
    }
    Ok(())
}

fn write_checkpoint(path: &Path, state: &Checkpoint) -> anyhow::Result<()> {
    // Written aside, then renamed over: a crash leaves the old checkpoint or the new one.
    let mut aside = path.as_os_str().to_owned();
    aside.push(".tmp");
    std::fs::write(&aside, serde_json::to_vec_pretty(state)?)?;
    std::fs::rename(&aside, path).with_context(|| format!("cannot write {}", path.display()))
}
