//! `roster users export --app APP [--output FILE]`: every live user of an application as JSON
//! Lines (`cli::record`), streamed from the registry's ExportUsers in Roster id order, so memory
//! stays flat whatever the count; uploaded profile images as files in `FILE.images/`; a progress
//! bar on a terminal. Sensitive metadata only with `--include-sensitive` and an API token holding
//! the sensitive-metadata scope. An interrupted export resumes with `--after` the last id written.

use std::{
    fs::{File, OpenOptions},
    io::{BufWriter, IsTerminal, Write},
    path::{Path, PathBuf},
};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use proto::registry::v1::{self as pb, registry_service_client::RegistryServiceClient};
use tonic::transport::Channel;

use super::record::Record;

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The application whose users are exported.
    #[arg(long = "app")]
    pub app_id: String,
    /// Where the JSON Lines go (default: standard output). Uploaded profile images go beside it,
    /// in FILE.images/.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Sensitive metadata too; needs `--api-token` of the application holding the
    /// sensitive-metadata scope.
    #[arg(long, requires = "api_token")]
    pub include_sensitive: bool,
    /// An API token of the application (for `--include-sensitive`).
    #[arg(long, env = "ROSTER_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,
    /// Resume an interrupted export after this Roster id (the last line written); the output
    /// file is appended to.
    #[arg(long)]
    pub after: Option<String>,
}

fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} users {per_sec} {eta}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// `FILE.images`, beside FILE.
fn images_dir(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".images");
    PathBuf::from(name)
}

/// What an export wrote.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Exported {
    pub users: u64,
    pub images: u64,
    /// Uploaded images not saved (the export went to standard output).
    pub images_left: u64,
}

pub async fn run(args: ExportArgs, endpoint: &str) -> anyhow::Result<()> {
    let output = args.output.clone();
    let exported = export(args, endpoint).await?;
    let to = output.as_ref().map_or("standard output".to_owned(), |p| p.display().to_string());
    eprintln!("exported {} users to {to}", exported.users);
    if exported.images > 0
        && let Some(output) = &output
    {
        eprintln!("saved {} profile images in {}", exported.images, images_dir(output).display());
    }
    if exported.images_left > 0 {
        eprintln!("{} uploaded profile images were not saved: give --output FILE to have them", exported.images_left);
    }
    Ok(())
}

pub async fn export(args: ExportArgs, endpoint: &str) -> anyhow::Result<Exported> {
    let ExportArgs { app_id, output, include_sensitive, api_token, after } = args;
    let mut client = super::registry(endpoint).await?;
    let mut request = tonic::Request::new(pb::ExportUsersRequest {
        app_id: app_id.clone(),
        include_sensitive,
        after: after.clone().unwrap_or_default(),
        batch_size: 0,
    });
    if include_sensitive && let Some(token) = &api_token {
        let value = format!("Bearer {token}").parse().context("the API token is not valid ASCII")?;
        request.metadata_mut().insert("authorization", value);
    }
    let mut stream = client
        .export_users(request)
        .await
        .map_err(|s| anyhow::anyhow!("the registry refused the export: {}", s.message()))?
        .into_inner();

    let mut out: Box<dyn Write> = match &output {
        Some(path) => Box::new(BufWriter::new(
            open_output(path, after.is_some(), include_sensitive)
                .with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let images = output.as_deref().map(images_dir);
    let progress = progress_bar();
    let mut done = Exported::default();
    let (mut last, mut written): (Option<String>, Option<String>) = (None, None);
    let result: anyhow::Result<()> = async {
        while let Some(message) = stream.message().await.map_err(|s| anyhow::anyhow!("{}", s.message()))? {
            if let Some(total) = message.total {
                progress.set_length(total);
            }
            for user in message.users {
                let mut record = Record::from_exported(user);
                if record.profile_url.starts_with("/profile_images/") {
                    match &images {
                        Some(dir) => {
                            record.profile_image = Some(save_image(&mut client, &app_id, &record.id, dir).await?);
                            done.images += 1;
                        }
                        None => done.images_left += 1,
                    }
                }
                serde_json::to_writer(&mut out, &record)?;
                out.write_all(b"\n")?;
                written = Some(record.id);
                done.users += 1;
                progress.inc(1);
            }
            // What a resume may start after: only lines that reached the file.
            out.flush()?;
            last = written.clone();
        }
        Ok(())
    }
    .await;
    progress.finish_and_clear();
    match result {
        Ok(()) => Ok(done),
        Err(err) => {
            let _ = out.flush();
            let resume = last.map_or(String::new(), |id| format!("; resume with --after {id}"));
            Err(err.context(format!("the export stopped after {} users{resume}", done.users)))
        }
    }
}

/// The output file: created (readable by its owner only when it holds sensitive metadata), or,
/// resuming, opened for appending after its last complete line (a line cut short by the
/// interruption goes).
fn open_output(path: &Path, resume: bool, sensitive: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true);
    #[cfg(unix)]
    if sensitive {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    #[cfg(not(unix))]
    let _ = sensitive;
    if !resume {
        return options.truncate(true).open(path);
    }
    use std::io::{Read, Seek, SeekFrom};
    let mut file = options.read(true).open(path)?;
    // Back from the end, a block at a time, to the last newline.
    let mut end = file.metadata()?.len();
    let mut complete = 0;
    let mut block = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(block.len() as u64);
        let chunk = &mut block[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(at) = chunk.iter().rposition(|&b| b == b'\n') {
            complete = start + at as u64 + 1;
            break;
        }
        end = start;
    }
    file.set_len(complete)?;
    file.seek(SeekFrom::End(0))?;
    Ok(file)
}

/// Fetches the user's uploaded image into `dir` and answers its path relative to the export's
/// directory (`FILE.images/ID.png`).
async fn save_image(
    client: &mut RegistryServiceClient<Channel>,
    app_id: &str,
    id: &str,
    dir: &Path,
) -> anyhow::Result<String> {
    let image = client
        .get_profile_image(pb::GetProfileImageRequest { app_id: app_id.to_owned(), id: id.to_owned() })
        .await
        .map_err(|s| anyhow::anyhow!("the profile image of {id}: {}", s.message()))?
        .into_inner();
    let extension = if image.content_type == "image/png" { "png" } else { "jpg" };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let file = dir.join(format!("{id}.{extension}"));
    std::fs::write(&file, &image.data).with_context(|| format!("cannot write {}", file.display()))?;
    let dir_name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(format!("{dir_name}/{id}.{extension}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resumed export appends after the last complete line, dropping one cut short; a fresh
    /// one with sensitive metadata is readable by its owner only.
    #[test]
    fn a_resumed_output_drops_a_line_cut_short() {
        let dir = std::env::temp_dir().join(format!("roster-export-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("users.jsonl");
        let long = "x".repeat(100_000);
        std::fs::write(&path, format!("{{\"a\":1}}\n{{\"b\":\"{long}\"}}\n{{\"c\":")).unwrap();
        let mut file = open_output(&path, true, false).unwrap();
        file.write_all(b"{\"d\":4}\n").unwrap();
        drop(file);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{{\"a\":1}}\n{{\"b\":\"{long}\"}}\n{{\"d\":4}}\n")
        );
        std::fs::write(&path, "no newline at all").unwrap();
        drop(open_output(&path, true, false).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");

        let secret = dir.join("sensitive.jsonl");
        drop(open_output(&secret, false, true).unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
