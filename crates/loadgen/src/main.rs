//! `loadgen`: see the library's documentation and docs/benchmarks.md.

use std::process::ExitCode;

use clap::Parser;
use loadgen::Options;

fn main() -> ExitCode {
    let options = Options::parse();
    if options.list {
        print!("{}", loadgen::list());
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("loadgen: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let report = match runtime.block_on(loadgen::run(&options)) {
        Ok(report) => report,
        Err(err) => {
            eprintln!("loadgen: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    let json = serde_json::to_string_pretty(&report).expect("the report serialises");
    match options.json.as_deref() {
        Some(path) if path.as_os_str() == "-" => println!("{json}"),
        Some(path) => {
            if let Err(err) = std::fs::write(path, json + "\n") {
                eprintln!("loadgen: {}: {err}", path.display());
                return ExitCode::FAILURE;
            }
            print!("{}", loadgen::report::render(&report));
        }
        None => print!("{}", loadgen::report::render(&report)),
    }
    ExitCode::SUCCESS
}
